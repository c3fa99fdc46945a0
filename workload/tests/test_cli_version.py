import subprocess
import sys

from kratos import __version__


def test_version_command_prints_the_build_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kratos", "version"], capture_output=True, text=True, check=True
    )
    assert __version__ in result.stdout
