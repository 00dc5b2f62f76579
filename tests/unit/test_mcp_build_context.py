"""tools/build_context: .dockerignore as the docker CLI applies it."""
from __future__ import annotations

import io
import tarfile

from tars_tasks.tools import build_context


def tree(root, files, ignore):
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    (root / ".dockerignore").write_text(ignore)
    return root


def test_dockerignore_rules(tmp_path):
    root = tree(tmp_path, ["Dockerfile", "app.py", "a.log", "keep.log", "sub/b.log", "node_modules/x/y.js",
                           "docs/readme.md", "docs/keep/me.md", "deep/x/test_1.py", "tmpfile", "t1"],
                "# comment\n\n*.log\n!keep.log\nnode_modules\n/docs\n!docs/keep\n**/test_*.py\nt?\n"
                "Dockerfile\n.dockerignore\n")
    assert build_context.files(root) == [".dockerignore", "Dockerfile", "app.py", "docs/keep/me.md",
                                         "keep.log", "sub/b.log", "tmpfile"]


def test_tarball_holds_exactly_the_files_and_is_stable(tmp_path):
    root = tree(tmp_path, ["Dockerfile", "src/a.py", "x.log"], "*.log\n")
    data = build_context.tarball(root)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert sorted(m.name for m in tar.getmembers()) == [".dockerignore", "Dockerfile", "src/a.py"]
        assert tar.extractfile("src/a.py").read() == b"src/a.py"
    assert build_context.tarball(root) == data


def test_content_hash_follows_contents_not_ignored_files(tmp_path):
    root = tree(tmp_path, ["Dockerfile", "a.py", "x.log"], "*.log\n")
    first = build_context.content_hash(root)
    (root / "x.log").write_text("changed")
    assert build_context.content_hash(root) == first
    (root / "a.py").write_text("changed")
    assert build_context.content_hash(root) != first
