"""Fails when MODULE.bazel and WORKSPACE disagree on a dependency or version.

usage: check_module_bazel.py MODULE.bazel WORKSPACE

Both files are read as Python syntax (Starlark's calls with keyword
arguments). WORKSPACE's source archives (local_archive, http_archive) are
the pinned dependencies: each one needs a bazel_dep whose repo_name is the
archive's name, at the version of its strip_prefix ("abseil-20220623.1",
"googletest-release-1.12.1"), and each bazel_dep needs a repository of that
name in WORKSPACE (a rule set from a local_repository has no version to
compare). The module's name must be the workspace's.
"""

import ast
import re
import sys

ARCHIVE_RULES = ("local_archive", "http_archive")


def calls(path):
    """(function name, {keyword: string value}) of each top-level call."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not isinstance(call.func, ast.Name):
            continue
        kwargs = {}
        for kw in call.keywords:
            if isinstance(kw.value, ast.Constant):
                kwargs[kw.arg] = kw.value.value
        yield call.func.id, kwargs


def archive_version(kwargs):
    m = re.search(r"-(?:release-)?v?(\d[\w.]*)$", kwargs.get("strip_prefix", ""))
    return m.group(1) if m else None


def main(module_path, workspace_path):
    errors = []
    workspace_name = None
    repos = {}  # name -> version, or None for an unversioned repository
    for func, kwargs in calls(workspace_path):
        if func == "workspace":
            workspace_name = kwargs.get("name")
        elif "name" in kwargs and func != "load":
            version = None
            if func in ARCHIVE_RULES:
                version = archive_version(kwargs)
                if version is None:
                    errors.append("WORKSPACE: no version in strip_prefix of %s"
                                  % kwargs["name"])
            repos[kwargs["name"]] = (func, version)

    module_name = None
    deps = {}  # repo name -> (module name, version)
    for func, kwargs in calls(module_path):
        if func == "module":
            module_name = kwargs.get("name")
            if not kwargs.get("version"):
                errors.append("MODULE.bazel: module() has no version")
        elif func == "bazel_dep":
            repo = kwargs.get("repo_name", kwargs.get("name"))
            deps[repo] = (kwargs.get("name"), kwargs.get("version"))

    if module_name != workspace_name:
        errors.append("module name %r but workspace name %r"
                      % (module_name, workspace_name))
    for name, (func, version) in sorted(repos.items()):
        if func not in ARCHIVE_RULES:
            continue
        if name not in deps:
            errors.append("WORKSPACE pins %s %s; MODULE.bazel has no bazel_dep "
                          "with repo_name = %r" % (name, version, name))
        elif deps[name][1] != version:
            errors.append("%s: WORKSPACE pins %s, MODULE.bazel %s %s"
                          % (name, version, deps[name][0], deps[name][1]))
    for repo, (dep, version) in sorted(deps.items()):
        if repo not in repos:
            errors.append("MODULE.bazel depends on %s %s (repo %s); WORKSPACE "
                          "has no such repository" % (dep, version, repo))

    for e in errors:
        print("FAIL: " + e)
    if not errors:
        print("MODULE.bazel and WORKSPACE agree: " + ", ".join(
            "%s %s" % (deps[r][0], deps[r][1]) for r in sorted(deps)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
