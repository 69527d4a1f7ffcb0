"""`chatlikeme telegram ...` from the command line: the errors a user can meet before any network access."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

NO_CREDENTIALS = {"TELEGRAM_API_ID": "", "TELEGRAM_API_HASH": ""}
CREDENTIALS = {"TELEGRAM_API_ID": "12345", "TELEGRAM_API_HASH": "0123456789abcdef0123456789abcdef"}


def test_missing_credentials_say_where_to_get_them(tmp_path: Path):
    for verb in (["login"], ["export", "--out", str(tmp_path / "x.json")]):
        result = run_cli("telegram", *verb, "--data-dir", tmp_path / "data", **NO_CREDENTIALS)
        assert result.returncode == 2, result.stderr
        assert "my.telegram.org" in result.stderr and "Traceback" not in result.stderr


def test_export_before_login_and_bad_types_are_one_line_errors(tmp_path: Path):
    out = tmp_path / "x.json"
    result = run_cli("telegram", "export", "--out", out, "--data-dir", tmp_path / "data", **CREDENTIALS)
    assert result.returncode == 2 and "run `chatlikeme telegram login` first" in result.stderr
    assert CREDENTIALS["TELEGRAM_API_HASH"] not in result.stderr + result.stdout
    result = run_cli(
        "telegram",
        "export",
        "--out",
        out,
        "--types",
        "personal,friends",
        "--data-dir",
        tmp_path / "data",
        **CREDENTIALS,
    )
    assert result.returncode == 2 and "unknown chat type 'friends'" in result.stderr
    assert not out.exists()


def test_config_file_supplies_credentials(tmp_path: Path):
    config = tmp_path / "telegram.yaml"
    config.write_text(f"api_id: 12345\napi_hash: abc\ndata_dir: {tmp_path / 'data'}\n")
    result = run_cli("telegram", "export", "--out", tmp_path / "x.json", "--config", config, **NO_CREDENTIALS)
    assert result.returncode == 2 and "telegram login" in result.stderr  # got past the credentials check
    config.write_text("api_id: 12345\napi_hash: abc\nbogus: 1\n")
    result = run_cli("telegram", "login", "--config", config, **NO_CREDENTIALS)
    assert result.returncode == 2 and "unknown key 'bogus'" in result.stderr
