"""The CLI keeps TensorFlow's native start-up lines off stderr unless --verbose."""

import subprocess
import sys
import textwrap

import pytest

# A stand-in `tensorflow` package that writes to file descriptor 2 as the native code does.
NOISY_TENSORFLOW = """
import os
os.write(2, b"cudart_stub.cc:31] Could not find cuda drivers\\n")
class config:
    @staticmethod
    def list_physical_devices():
        os.write(2, b"oneDNN custom operations are on\\n")
        return []
"""
BROKEN_TENSORFLOW = """
import os
os.write(2, b"libtensorflow_framework.so: cannot open shared object file\\n")
raise ImportError("stand-in import failure")
"""


def _run(tmp_path, package_source):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(package_source)
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from core.cli import import_tensorflow_quietly
        import_tensorflow_quietly()
        print("imported", sys.modules["tensorflow"].__file__)
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_native_start_up_lines_do_not_reach_stderr(tmp_path):
    result = _run(tmp_path, NOISY_TENSORFLOW)
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout and str(tmp_path) in result.stdout
    assert result.stderr == ""


def test_a_failed_import_replays_what_tensorflow_wrote(tmp_path):
    result = _run(tmp_path, BROKEN_TENSORFLOW)
    assert result.returncode != 0
    assert "cannot open shared object file" in result.stderr
    assert "stand-in import failure" in result.stderr


@pytest.mark.parametrize("verbose", [False, True])
def test_the_verbose_flag_decides_whether_the_cli_imports_quietly(monkeypatch, verbose):
    from core import cli

    calls = []
    monkeypatch.setattr(cli, "import_tensorflow_quietly", lambda: calls.append(True))
    argv = ["--verbose", "tasks"] if verbose else ["tasks"]
    assert cli.main(argv) == 0
    assert calls == ([] if verbose else [True])
