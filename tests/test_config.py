from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.runtime import open_engine
from core.clock import SeededIds, VirtualClock
from core.errors import ConfigError
from core.settings import Locales, Settings, load_settings
from sim.cli import main
from tests.conftest import ROOT, START


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
        # Each of these passed check-config, then crashed, hung or refused every payment:
        (lambda d: d["locales"].update(available=["en", "xx"]), "locales.available.1"),
        (lambda d: d["locales"].update(default="ta"), "default 'ta' is not in available"),
        (lambda d: d["markets"]["IN"].update(languages=["en", "ta"]), "markets.IN.languages: ta"),
        (lambda d: d["telegram"].update(per_chat_interval="0s"), "telegram.per_chat_interval"),
        (lambda d: d["security"].update(pin_lock="0s"), "security.pin_lock"),
        (lambda d: d["security"].update(pin_lock="99999999999d"), "security.pin_lock"),
        (lambda d: d["payments"].update(status_checks=["0s"]), "payments.status_checks.0"),
        (lambda d: d["payments"].update(processor_timeout=0), "payments.processor_timeout"),
        (
            lambda d: d["markets"]["IN"]["limits"].update(min="INR 200000.00"),
            "markets.IN.limits: min (INR 200000.00) is above per_transaction",
        ),
        (
            lambda d: d["markets"]["IN"]["limits"].update(per_day="INR 10.00"),
            "markets.IN.limits: per_transaction (INR 100000.00) is above per_day",
        ),
        (
            lambda d: d["markets"]["BR"]["limits"].update(per_month="BRL 10.00"),
            "markets.BR.limits: per_day (BRL 5000.00) is above per_month",
        ),
        (
            lambda d: d["markets"]["SG"]["limits"].update(new_method_first_day="SGD 0.001"),
            "markets.SG.limits.new_method_first_day",
        ),
        (lambda d: d["markets"]["SG"]["limits"].update(min="SGD 0.00"), "markets.SG.limits.min"),
        (lambda d: d["markets"]["IN"]["limits"].update(min="INR -1.00"), "markets.IN.limits.min"),
        (lambda d: d["markets"]["IN"].update(currency="XYZ"), "markets.IN.currency"),
        (lambda d: d["markets"]["IN"].update(card_brands=[]), "card_brands"),
        (lambda d: d["refused"].update(countries=["IN"]), "refused.countries: IN"),
        (lambda d: d["refused"].update(countries=["Spain"]), "refused.countries.0"),
        (lambda d: d["telegram"].update(mode="webhook"), "telegram: mode: webhook needs"),
        (lambda d: d["telegram"].update(webhook_url="example.org"), "telegram.webhook_url"),
        (lambda d: d["storage"].update(path=""), "storage.path"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, mutate: object, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, mutate))
    assert named in str(err.value)


async def test_a_language_without_a_catalog_is_refused_before_the_store_opens(
    settings: Settings, tmp_path: Path
) -> None:
    # Valid to pydantic (Babel knows Tamil), but there is no ta catalog: its readers would
    # silently get English.
    for locales, named in (
        (Locales(default="en", available=("en", "ta")), "locales.available"),
        (Locales(default="ta", available=("ta", "en")), "locales.available"),
    ):
        broken = settings.model_copy(update={"locales": locales})
        db = tmp_path / "never.db"
        with pytest.raises(ConfigError, match=named):
            async with open_engine(broken, str(db), clock=VirtualClock(START), ids=SeededIds()):
                pytest.fail("the engine must not start")
        assert not db.exists()


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


def _paychat(
    tmp_path: Path, config: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "123456:CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
        input=stdin,
        timeout=60,  # per_chat_interval: 0s once left `paychat telegram` running forever
    )


@pytest.mark.parametrize(
    "command",
    [
        ["check-config"],
        ["telegram", "--base-url", "http://127.0.0.1:9/bot"],
        ["chat", "--db", "chat.db"],
        ["demo", "--db", "demo.db"],
    ],
)
@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["telegram"].update(per_chat_interval="0s"),
        lambda d: d["locales"].update(available=["en", "pt_BR", "hi", "bn", "ta"]),
        lambda d: d["locales"].update(default="ta", available=["ta", "en", "pt_BR", "hi", "bn"]),
    ],
)
def test_every_command_stops_at_a_bad_config_with_one_line_and_exit_2(
    tmp_path: Path, command: list[str], mutate: object
) -> None:
    config = write(tmp_path, mutate)
    result = _paychat(tmp_path, config, *command)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("paychat: bad configuration: ")
    assert "locales" in result.stderr or "telegram.per_chat_interval" in result.stderr
    assert not list(tmp_path.glob("*.db")), "nothing was opened"


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
