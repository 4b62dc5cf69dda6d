from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError
from core.settings import load_settings
from sim.cli import main
from tests.conftest import ROOT


def write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert callable(mutate)
    mutate(data)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.yaml")
    assert set(settings.markets) == {"IN", "BR", "SG"}
    assert settings.markets["IN"].limits.per_transaction.code() == "INR 100000.00"
    assert settings.market("ES") is None
    assert settings.markets["BR"].limits.per_month is not None
    assert settings.markets["BR"].limits.per_month.code() == "BRL 5000.00"
    assert settings.markets["IN"].limits.per_month is None


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d["security"].update(pin_length=5), "security.pin_length"),
        (lambda d: d["markets"]["IN"]["limits"].update(min="BRL 1.00"), "markets.IN"),
        (lambda d: d["markets"]["BR"]["limits"].update(per_month="INR 1.00"), "per_month"),
        (lambda d: d["security"].update(pin_hash_cost=4), "security.pin_hash_cost"),
        (lambda d: d["payments"].update(request_expiry="1m"), "payments.request_expiry"),
        (lambda d: d["security"].update(pin_lock="soon"), "security.pin_lock"),
        (lambda d: d["markets"]["BR"].update(methods=["cash"]), "markets.BR.methods.0"),
        (lambda d: d.update(surprise=1), "surprise"),
        # Babel would refuse it only when the engine starts, with a traceback
        (lambda d: d["markets"]["IN"].update(locale="xx_QQ"), "markets.IN.locale"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, mutate: object, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, mutate))
    assert named in str(err.value)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("markets:\n  IN: [unclosed\n")
    with pytest.raises(ConfigError, match=r"config.yaml:\d+: not valid YAML"):
        load_settings(path)


def test_cli_stops_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["security"].update(pin_attempts=0))
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "--config", str(path), "check-config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "security.pin_attempts" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["test", "tests/scenarios/links"],
        [
            "bench",
            "--conversations",
            "1",
            "--idle",
            "1",
            "--latency-seconds",
            "0.1",
            "--no-scenarios",
        ],
    ],
)
def test_a_reader_that_goes_away_ends_the_cli_quietly(command: list[str]) -> None:
    # `paychat … | head -1`: the pipe closes before the output is written.
    with subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()
        err = child.stderr.read().decode()
        assert child.wait() == 1
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err


def test_ctrl_c_stops_the_cli_with_130_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sim.scenarios.cli

    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.scenarios.cli, "run_tests", interrupted)
    assert main(["test"]) == 130
    assert capsys.readouterr().err == "paychat: interrupted\n"
