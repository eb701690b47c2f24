"""Tests for ``columba.config`` and ``columba check-config``."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path

import pytest

from columba.cli import main
from columba.config import (
    TABLES,
    Address,
    Config,
    ConfigError,
    ListenConfig,
    LogFormat,
    LogLevel,
    MultiDevice,
    Registration,
    ServerConfig,
    load_config,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "columba.example.toml"
#: A commented-out setting in the example file: ``#key = value``.
SETTING_RE = re.compile(r"^#([a-z_]+) = (.*)$")
TOKEN = "s3cret-admin-token-0123456789"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "columba.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str = "", **env: str) -> Config:
    return load_config(write(tmp_path, text), env=env)


def errors(tmp_path: Path, text: str = "", **env: str) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, **env)
    return caught.value.errors


def example_settings() -> dict[str, dict[str, str]]:
    """Table → key → the TOML text of its value, from the commented settings of the example."""
    tables: dict[str, dict[str, str]] = {}
    table = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            table = line[1:-1]
            tables[table] = {}
        elif (match := SETTING_RE.match(line)) is not None:
            assert table, f"setting outside a table: {line}"
            tables[table][match[1]] = match[2]
    return tables


# -- defaults and the example file ---------------------------------------------------------


def test_no_file_is_the_default_configuration() -> None:
    assert load_config(None, env={}) == Config()


def test_empty_file_is_the_default_configuration(tmp_path: Path) -> None:
    assert load(tmp_path) == Config()


def test_defaults_are_the_embedded_single_process_server() -> None:
    config = Config()
    assert config.server.domain == config.server.realm == "columba.local"
    assert config.server.data_dir == Path("data")
    assert config.storage.url == "sqlite:///data/columba.db"
    assert config.registry.url == "memory://"
    assert str(config.listen.sip_udp) == str(config.listen.sip_tcp) == "127.0.0.1:5060"
    assert str(config.listen.sipc_tcp) == "127.0.0.1:8080"
    assert str(config.listen.http) == "127.0.0.1:8088"
    assert str(config.listen.smsc) == "127.0.0.1:2775"
    assert config.listen.sip_tls is None
    assert str(config.listen.mcp) == "127.0.0.1:8040"
    assert config.accounts.registration is Registration.CLOSED
    assert config.login.multi_device is MultiDevice.MULTIPLE
    assert config.log.level is LogLevel.INFO
    assert config.log.format is LogFormat.TEXT
    assert config.sms.enabled
    assert config.sms.access_code == "12520"
    assert not config.admin.is_enabled


def test_example_file_as_shipped_is_the_defaults() -> None:
    assert load_config(EXAMPLE, env={}) == Config()


def test_example_file_uncommented_is_the_defaults(tmp_path: Path) -> None:
    """Each commented setting shows its default: uncommenting them all changes nothing."""
    lines = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        lines.append(line[1:] if SETTING_RE.match(line) else line)
    config = load(tmp_path, "\n".join(lines))
    # The node name defaults to the host name, which the example cannot know.
    assert config.server.node_name == "columba-1"
    server = dataclasses.replace(config.server, node_name=Config().server.node_name)
    assert dataclasses.replace(config, server=server) == Config()


def test_example_file_names_every_setting_in_its_table() -> None:
    documented = {table: set(keys) for table, keys in example_settings().items()}
    expected = {
        table: {item.name for item in dataclasses.fields(cls)} for table, cls in TABLES.items()
    }
    assert documented == expected


def test_example_file_explains_every_setting() -> None:
    """Every commented setting is preceded, within its paragraph, by a line of prose."""
    paragraph: list[str] = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            paragraph = []
            continue
        if SETTING_RE.match(line):
            assert any(text.startswith("# ") for text in paragraph), line
        paragraph.append(line)


def test_tables_match_the_config_attributes() -> None:
    fields = {item.name: item.default_factory for item in dataclasses.fields(Config)}
    assert fields == TABLES


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server = ServerConfig()  # type: ignore[misc]


# -- the file ------------------------------------------------------------------------------


def test_file_values_are_read(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [server]
        domain = "fetion.example"
        [listen]
        sip_udp = "off"
        sip_tcp = "[::]:5060"
        http = "0.0.0.0:0"
        [accounts]
        registration = "invite"
        [login]
        multi_device = "replace"
        failure_delay_base = 1
        [delivery]
        ack_timeout = 10
        [log]
        format = "json"
        [sms]
        enabled = false
        """,
    )
    assert config.server.domain == config.server.realm == "fetion.example"
    assert config.listen.sip_udp is None
    assert config.listen.sip_tcp == Address(host="::", port=5060)
    assert config.listen.http == Address(host="0.0.0.0", port=0)
    assert config.accounts.registration is Registration.INVITE
    assert config.login.multi_device is MultiDevice.REPLACE
    assert config.login.failure_delay_base == 1.0
    assert isinstance(config.delivery.ack_timeout, float)
    assert config.log.format is LogFormat.JSON
    assert config.sms.enabled is False


def test_explicit_realm_is_kept(tmp_path: Path) -> None:
    config = load(tmp_path, '[server]\ndomain = "a.example"\nrealm = "Columba users"\n')
    assert config.server.realm == "Columba users"


def test_storage_url_follows_the_data_dir(tmp_path: Path) -> None:
    config = load(tmp_path, '[server]\ndata_dir = "/var/lib/columba"\n')
    assert config.storage.url == "sqlite:////var/lib/columba/columba.db"
    assert load(tmp_path, '[server]\ndata_dir = "state"\n').storage.url == (
        "sqlite:///state/columba.db"
    )


def test_data_dir_argument_overrides_file_and_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\ndata_dir = "from-file"\n')
    env = {"COLUMBA_SERVER_DATA_DIR": "from-env"}
    config = load_config(path, env=env, data_dir=tmp_path / "cli")
    assert config.server.data_dir == tmp_path / "cli"
    assert config.storage.url == f"sqlite:///{tmp_path}/cli/columba.db"


def test_explicit_storage_url_is_kept_whatever_the_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl = "postgresql://columba@db/columba"\n')
    config = load_config(path, env={}, data_dir=tmp_path)
    assert config.storage.url == "postgresql://columba@db/columba"


# -- the environment -----------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[storage]\nurl = "sqlite:///file.db"\n[listen]\nsip_tcp = "127.0.0.1:5070"\n',
        COLUMBA_STORAGE_URL="postgresql://columba@db/columba",
        COLUMBA_LISTEN_SIP_TCP="[::1]:5080",
        COLUMBA_LIMITS_MAX_HEADERS="64",
        COLUMBA_DELIVERY_RETRY_MAX="60.5",
        COLUMBA_LOG_LEVEL="DEBUG",
        COLUMBA_ADMIN_TOKEN=TOKEN,
    )
    assert config.storage.url == "postgresql://columba@db/columba"
    assert config.listen.sip_tcp == Address(host="::1", port=5080)
    assert config.limits.max_headers == 64
    assert config.delivery.retry_max == 60.5
    assert config.log.level is LogLevel.DEBUG
    assert config.admin.token == TOKEN
    assert config.admin.is_enabled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("No", False),
    ],
)
def test_environment_booleans(text: str, expected: bool) -> None:
    assert load_config(None, env={"COLUMBA_SMS_ENABLED": text}).sms.enabled is expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("COLUMBA_SMS_ENABLED", "on", "expected true/false/1/0/yes/no, not 'on'"),
        ("COLUMBA_LIMITS_MAX_HEADERS", "1.5", "expected an integer, not '1.5'"),
        ("COLUMBA_LIMITS_MAX_HEADERS", "lots", "expected an integer, not 'lots'"),
        ("COLUMBA_DELIVERY_ACK_TIMEOUT", "nan", "must be between 0.1 and 3600"),
        ("COLUMBA_DELIVERY_ACK_TIMEOUT", "inf", "must be between 0.1 and 3600"),
        ("COLUMBA_LISTEN_HTTP", "8088", "expected host:port or off, not '8088'"),
    ],
)
def test_environment_values_are_cast_strictly(name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={name: text})
    assert caught.value.errors == (f"{name}: {message}",)


def test_environment_variables_of_no_table_are_not_settings() -> None:
    env = {
        "COLUMBA_CORPUS": "/somewhere",
        "COLUMBA_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1/test",
        "COLUMBA_CONFIG": "/etc/columba.toml",
        "PATH": "/usr/bin",
    }
    assert load_config(None, env=env) == Config()


def test_environment_typo_in_a_key_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"COLUMBA_STORAGE_ULR": "sqlite:///x.db"})
    assert caught.value.errors == (
        "COLUMBA_STORAGE_ULR: [storage] has no key 'ulr' (did you mean 'url'?)",
    )


# -- casts and bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("127.0.0.1:5060", "127.0.0.1", 5060),
        ("[::1]:5060", "::1", 5060),
        ("[::]:0", "::", 0),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
        ("localhost:8080", "localhost", 8080),
        ("sip.example.com:5061", "sip.example.com", 5061),
    ],
)
def test_address_parse_and_str(text: str, host: str, port: int) -> None:
    address = Address.parse(text)
    assert address == Address(host=host, port=port)
    assert str(address) == text


@pytest.mark.parametrize(
    "text",
    [
        "::1:5060",
        "127.0.0.1",
        ":5060",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:+5",
        "127.0.0.1:٥٠٦٠",
        "[::1]5060",
        "[::1:5060",
        "[not-ipv6]:5060",
        "[127.0.0.1]:5060",
        "999.0.0.1:5060",
        "bad_host:5060",
        "-bad.example:5060",
        "",
    ],
)
def test_address_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        Address.parse(text)


def test_listener_off(tmp_path: Path) -> None:
    config = load(tmp_path, '[listen]\nsmsc = "off"\nhttp = " off "\n')
    assert config.listen.smsc is None
    assert config.listen.http is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[limits]\nmax_headers = "64"', "[limits] max_headers: expected an integer, not a string"),
        ("[limits]\nmax_headers = 64.0", "[limits] max_headers: expected an integer, not 64.0"),
        ("[limits]\nmax_headers = true", "[limits] max_headers: expected an integer, not a bool"),
        ("[limits]\nmax_headers = 4", "[limits] max_headers: must be between 8 and 1024"),
        ("[limits]\nmax_body_bytes = -1", "[limits] max_body_bytes: must be between 0 and"),
        ('[delivery]\nwindow = "32"', "[delivery] window: expected an integer, not a string"),
        ("[delivery]\nack_timeout = 0.0", "[delivery] ack_timeout: must be between 0.1 and 3600"),
        ('[sms]\nenabled = "yes"', "[sms] enabled: expected a boolean (true or false), not a str"),
        ("[sms]\nenabled = 1", "[sms] enabled: expected a boolean (true or false), not an int"),
        ('[sms]\naccess_code = "125x"', "[sms] access_code: expected 1 to 10 digits"),
        ("[sms]\naccess_code = 12520", "[sms] access_code: expected a string, not an integer"),
        ('[accounts]\nregistration = "public"', "expected one of 'closed', 'invite', 'open'"),
        ('[log]\nlevel = "verbose"', "expected one of 'debug', 'info', 'warning', 'error'"),
        ('[server]\ndomain = "bad domain"', "[server] domain: 'bad domain' is not a domain"),
        ('[server]\nrealm = "a\\"b"', "[server] realm: 'a\"b' must be printable text"),
        ('[server]\nnode_name = "node 1"', "[server] node_name: 'node 1' must be letters"),
        ('[server]\ndata_dir = ""', "[server] data_dir: must not be empty"),
        ('[storage]\nurl = "mysql://db/x"', "[storage] url: expected a URL of the form sqlite://"),
        ('[registry]\nurl = "redis"', "[registry] url: expected a URL of the form memory://"),
        ('[listen]\nsip_udp = "[::1]:99999"', "[listen] sip_udp: the port must be a number"),
        ("[listen]\nsip_udp = 5060", "[listen] sip_udp: expected a string, not an integer"),
    ],
)
def test_file_values_are_cast_strictly(tmp_path: Path, toml: str, message: str) -> None:
    (error,) = errors(tmp_path, toml)
    assert error.startswith(f"{tmp_path / 'columba.toml'}: ")
    assert message in error


def test_enum_values_ignore_case(tmp_path: Path) -> None:
    config = load(tmp_path, '[accounts]\nregistration = "Open"\n')
    assert config.accounts.registration is Registration.OPEN


def test_a_wrong_url_does_not_echo_its_password(tmp_path: Path) -> None:
    (error,) = errors(tmp_path, '[storage]\nurl = "mysql://root:hunter2@db/x"\n')
    assert "hunter2" not in error
    assert "mysql://root:***@db/x" in error


# -- unknown names and the list of every error ---------------------------------------------


def test_unknown_table_and_keys(tmp_path: Path) -> None:
    found = errors(
        tmp_path,
        '[server]\ndomian = "x"\n[sotrage]\nurl = "x"\n[frobnicate]\nx = 1\n',
    )
    path = tmp_path / "columba.toml"
    assert found == (
        f"{path}: [server] unknown key 'domian' (did you mean 'domain'?)",
        f"{path}: unknown table [sotrage] (did you mean 'storage'?)",
        f"{path}: unknown table [frobnicate]",
    )


def test_settings_outside_a_table(tmp_path: Path) -> None:
    found = errors(tmp_path, 'domain = "x"\nlisten = 5\n')
    path = tmp_path / "columba.toml"
    assert found == (
        f"{path}: unknown top-level key 'domain' (settings go in a table such as [server])",
        f"{path}: 'listen' must be a table, [listen]",
    )


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            '[limits]\nmax_headers = 1\n[log]\nformat = "xml"\n[nope]\n',
            COLUMBA_SMS_ENABLED="perhaps",
        )
    assert len(caught.value.errors) == 4
    message = str(caught.value)
    assert message.startswith("4 configuration errors:\n")
    for line in caught.value.errors:
        assert f"\n  {line}" in message


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env={})
    (error,) = caught.value.errors
    assert error.startswith(f"{missing}: cannot read: ")
    assert str(caught.value).startswith("1 configuration error:\n")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (error,) = errors(tmp_path, "[server\ndomain = x\n")
    assert error.startswith(f"{tmp_path / 'columba.toml'}: not valid TOML: ")


def test_invalid_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "columba.toml"
    path.write_bytes(b'[server]\ndomain = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.errors[0].startswith(f"{path}: not valid")


# -- rules between settings ----------------------------------------------------------------


def test_tls_listener_needs_certificate_and_key(tmp_path: Path) -> None:
    path = tmp_path / "columba.toml"
    assert errors(tmp_path, '[listen]\nsip_tls = "127.0.0.1:5061"\n') == (
        f"{path}: [tls] cert_file: required when [listen] sip_tls is on",
        f"{path}: [tls] key_file: required when [listen] sip_tls is on",
    )


def test_tls_files_must_exist(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("certificate")
    text = (
        f'[listen]\nsip_tls = "127.0.0.1:5061"\n'
        f'[tls]\ncert_file = "{tmp_path}/cert.pem"\nkey_file = "{tmp_path}/key.pem"\n'
    )
    assert errors(tmp_path, text) == (
        f"{tmp_path / 'columba.toml'}: [tls] key_file: no such file: {tmp_path}/key.pem",
    )
    (tmp_path / "key.pem").write_text("key")
    config = load(tmp_path, text)
    assert config.tls.cert_file == tmp_path / "cert.pem"
    assert config.listen.sip_tls == Address(host="127.0.0.1", port=5061)


def test_tls_files_may_be_set_while_tls_is_off(tmp_path: Path) -> None:
    config = load(tmp_path, '[tls]\ncert_file = "/nowhere/cert.pem"\nkey_file = ""\n')
    assert config.tls.cert_file == Path("/nowhere/cert.pem")
    assert config.tls.key_file is None


def test_register_expires_between_min_and_max(tmp_path: Path) -> None:
    assert errors(tmp_path, "[login]\nmin_expires = 900\n") == (
        f"{tmp_path / 'columba.toml'}: [login] min_expires: register_expires (600) must be "
        "between min_expires (900) and max_expires (7200)",
    )


def test_delays_below_their_caps() -> None:
    env = {"COLUMBA_LOGIN_FAILURE_DELAY_MAX": "0.25", "COLUMBA_DELIVERY_RETRY_BASE": "600"}
    with pytest.raises(ConfigError) as caught:
        load_config(None, env=env)
    assert caught.value.errors == (
        "COLUMBA_LOGIN_FAILURE_DELAY_MAX: failure_delay_base (0.5) must not exceed "
        "failure_delay_max (0.25)",
        "COLUMBA_DELIVERY_RETRY_BASE: retry_base (600) must not exceed retry_max (300)",
    )


def test_short_admin_token_is_refused_without_being_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"COLUMBA_ADMIN_TOKEN": "hunter2"})
    assert caught.value.errors == ("COLUMBA_ADMIN_TOKEN: must be at least 16 characters long",)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("listen", "conflict"),
    [
        (
            'sipc_tcp = "127.0.0.1:5060"',
            "[listen] sipc_tcp: 127.0.0.1:5060 is also the address of [listen] sip_tcp",
        ),
        (
            'http = "0.0.0.0:5060"',
            "[listen] http: 0.0.0.0:5060 is also the address of [listen] sip_tcp",
        ),
        (
            'sip_tcp = "0.0.0.0:2775"',
            "[listen] smsc: 127.0.0.1:2775 is also the address of [listen] sip_tcp",
        ),
        (
            'sip_tcp = "[::]:9000"\nmcp = "[::1]:9000"',
            "[listen] mcp: [::1]:9000 is also the address of [listen] sip_tcp",
        ),
    ],
)
def test_stream_listeners_may_not_share_an_address(
    tmp_path: Path, listen: str, conflict: str
) -> None:
    (error,) = errors(tmp_path, f"[listen]\n{listen}\n")
    assert error.endswith(conflict)


@pytest.mark.parametrize(
    "listen",
    [
        'sip_udp = "127.0.0.1:8080"',  # UDP beside SIP-C's TCP
        'sip_tcp = "127.0.0.2:8080"',  # another address
        'sip_tcp = "[::1]:8080"',  # another family
        'http = "[::]:2776"\nsmsc = "127.0.0.1:2776"\nsip_tcp = "0.0.0.0:0"\nsipc_tcp = "[::]:0"',
    ],
)
def test_listeners_that_can_coexist(tmp_path: Path, listen: str) -> None:
    load(tmp_path, f"[listen]\n{listen}\n")


def test_a_listener_on_every_interface_only_conflicts_within_its_family(tmp_path: Path) -> None:
    load(tmp_path, '[listen]\nhttp = "[::1]:9000"\nsmsc = "0.0.0.0:9000"\n')
    load(tmp_path, '[listen]\nhttp = "[::]:9000"\nsmsc = "0.0.0.0:9000"\n')
    with pytest.raises(ConfigError):
        load(tmp_path, '[listen]\nhttp = "127.0.0.1:9000"\nsmsc = "0.0.0.0:9000"\n')


def test_stream_listener_names_are_fields() -> None:
    names = {item.name for item in dataclasses.fields(ListenConfig)}
    assert set(ListenConfig.STREAM) == names - {"sip_udp"}


# -- describe() and secrets ----------------------------------------------------------------


def test_describe_is_toml_that_loads_back(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[listen]\nsip_tcp = "[::1]:0"\nsmsc = "off"\n[login]\nmulti_device = "replace"\n'
        '[tls]\ncert_file = "/etc/cert.pem"\n[delivery]\nack_timeout = 5\n',
    )
    described = config.describe()
    assert tomllib.loads(described)["listen"]["sip_tcp"] == "[::1]:0"
    assert load(tmp_path, described) == config


def test_describe_lists_every_table_and_key() -> None:
    document = tomllib.loads(Config().describe())
    assert list(document) == list(TABLES)
    for table, cls in TABLES.items():
        assert list(document[table]) == [item.name for item in dataclasses.fields(cls)]


def test_describe_and_repr_mask_secrets() -> None:
    env = {
        "COLUMBA_ADMIN_TOKEN": TOKEN,
        "COLUMBA_STORAGE_URL": "postgresql://columba:hunter2@db:5432/columba",
        "COLUMBA_REGISTRY_URL": "redis://:hunter3@cache:6379/0",
    }
    config = load_config(None, env=env)
    for text in (config.describe(), repr(config), str(config)):
        assert TOKEN not in text
        assert "hunter2" not in text
        assert "hunter3" not in text
    described = tomllib.loads(config.describe())
    assert described["admin"]["token"] == "***"
    assert described["storage"]["url"] == "postgresql://columba:***@db:5432/columba"
    assert described["registry"]["url"] == "redis://:***@cache:6379/0"
    assert "postgresql://columba:***@db:5432/columba" in repr(config.storage)


def test_describe_shows_an_unset_token_as_empty() -> None:
    assert tomllib.loads(Config().describe())["admin"]["token"] == ""


# -- columba check-config ------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``COLUMBA_`` variable of the developer's or CI's environment leaks into a test."""
    for name in list(os.environ):
        if name.startswith("COLUMBA_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_check_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[server]\ndomain = "fetion.example"\n')
    status = main(["check-config", "--config", str(path), "--data-dir", str(tmp_path / "d")])
    out, err = capsys.readouterr()
    assert status == 0
    assert err == ""
    first, _, rest = out.partition("\n")
    assert first == "config OK"
    described = tomllib.loads(rest)
    assert described["server"]["domain"] == "fetion.example"
    assert described["server"]["data_dir"] == str(tmp_path / "d")


@pytest.mark.usefixtures("clean_env")
def test_check_config_without_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert out == "config OK\n" + Config().describe()


@pytest.mark.usefixtures("clean_env")
def test_check_config_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("config OK\n")


@pytest.mark.usefixtures("clean_env")
def test_check_config_lists_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMBA_LOG_FORMAT", "xml")
    path = write(tmp_path, "[limits]\nmax_headers = 1\n[nope]\n")
    status = main(["check-config", "--config", str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.splitlines() == [
        f"columba check-config: {path}: unknown table [nope]",
        f"columba check-config: {path}: [limits] max_headers: must be between 8 and 1024",
        "columba check-config: COLUMBA_LOG_FORMAT: expected one of 'text', 'json', not 'xml'",
        "columba check-config: 3 errors",
    ]
