"""A repository rule for the third-party tarballs fetched by tools/bootstrap.sh.

The tarballs live in third_party/archives/ (a link into the bootstrap cache,
ignored by git). Bazel extracts them and verifies their sha256, so a corrupt
or substituted tarball fails the build instead of compiling.
"""

def _local_archive_impl(ctx):
    workspace = ctx.path(Label("@//:WORKSPACE")).dirname
    archive = workspace.get_child("third_party").get_child("archives").get_child(ctx.attr.archive)
    if not archive.exists:
        fail("%s is missing: run tools/bootstrap.sh first" % archive)
    ctx.download_and_extract(
        url = "file://%s" % archive.realpath,
        sha256 = ctx.attr.sha256,
        stripPrefix = ctx.attr.strip_prefix,
    )

local_archive = repository_rule(
    implementation = _local_archive_impl,
    attrs = {
        "archive": attr.string(mandatory = True),
        "sha256": attr.string(mandatory = True),
        "strip_prefix": attr.string(mandatory = True),
    },
    local = False,
)
