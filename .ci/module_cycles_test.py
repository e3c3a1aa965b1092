#!/usr/bin/env python3
"""Tests of module-cycles.py on small crates written to a temporary folder."""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).with_name("module-cycles.py")


def check(files: dict[str, str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as root:
        src = Path(root) / "src"
        for name, text in files.items():
            path = src / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return subprocess.run(
            [sys.executable, SCRIPT, src], capture_output=True, text=True, check=False
        )


class ModuleCycles(unittest.TestCase):
    def test_two_files_that_import_each_other(self):
        out = check(
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "use crate::b::B;\npub(crate) struct A;\n",
                "b.rs": "use crate::a::{self, A};\npub(crate) struct B;\n",
            }
        )
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("import circle between a, b", out.stdout)
        self.assertIn("a -> b: crate::b::B", out.stdout)

    def test_a_parent_and_a_child_that_use_each_other(self):
        out = check(
            {
                "lib.rs": "mod render;\n",
                "render/mod.rs": "mod pod;\npub struct Options;\npub fn render() { pod::pod(); }\n",
                "render/pod.rs": "use super::Options;\npub(crate) fn pod() {}\n",
            }
        )
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("render, render::pod", out.stdout)

    def test_a_chain_through_three_files(self):
        out = check(
            {
                "lib.rs": "mod a;\nmod b;\nmod c;\n",
                "a.rs": "pub(crate) fn a() { crate::b::b(); }\n",
                "b.rs": "pub(crate) fn b() { crate::c::c(); }\n",
                "c.rs": "use crate::a;\npub(crate) fn c() { a::a(); }\n",
            }
        )
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("import circle between a, b, c", out.stdout)

    def test_reexports_tests_comments_and_strings_make_no_circle(self):
        out = check(
            {
                "lib.rs": "mod a;\nmod b;\npub use a::A;\npub use b::{B as Bee};\n",
                "a.rs": (
                    "//! Uses [`crate::b::B`] in prose only.\n"
                    "use crate::Bee;\n"
                    'pub struct A; const S: &str = "crate::a::A";\n'
                ),
                "b.rs": (
                    "pub struct B;\n"
                    "#[cfg(test)]\nmod tests {\n    use crate::a::A;\n    use super::*;\n}\n"
                ),
            }
        )
        self.assertEqual(out.returncode, 0, out.stdout)
        self.assertIn("3 modules, no import circles", out.stdout)


if __name__ == "__main__":
    unittest.main()
