"""The training worker's Temporal connection from Temporal's environment configuration
(s3_finetune/worker.py connect_config, temporalio.envconfig): the local dev server by default,
TEMPORAL_* variables, and a temporal.toml profile with mTLS files (the produced Client.connect
arguments; no TLS server is started)."""

from s3_finetune.worker import connect_config, describe


def test_defaults_to_the_local_dev_server(tmp_path):
    config = connect_config({"TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml")})
    assert config == {"target_host": "127.0.0.1:7233", "namespace": "default"}


def test_environment_and_api_key(tmp_path):
    config = connect_config(
        {
            "TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml"),
            "TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233",
            "TEMPORAL_NAMESPACE": "ns.acct",
            "TEMPORAL_API_KEY": "secret-key",
        }
    )
    assert config["target_host"] == "ns.acct.tmprl.cloud:7233"
    assert config["namespace"] == "ns.acct"
    assert config["api_key"] == "secret-key" and config["tls"] is True
    assert describe(config) == "ns.acct.tmprl.cloud:7233, namespace 'ns.acct' (TLS, API key)"


def test_profile_with_client_certificates(tmp_path):
    (tmp_path / "client.pem").write_text("CERT")
    (tmp_path / "client.key").write_text("KEY")
    toml = tmp_path / "temporal.toml"
    toml.write_text(
        "[profile.prod]\n"
        'address = "temporal.internal:7233"\n'
        'namespace = "s3"\n'
        "[profile.prod.tls]\n"
        f'client_cert_path = "{tmp_path / "client.pem"}"\n'
        f'client_key_path = "{tmp_path / "client.key"}"\n'
    )
    config = connect_config({"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_PROFILE": "prod"})
    assert config["target_host"] == "temporal.internal:7233" and config["namespace"] == "s3"
    assert config["tls"].client_cert == b"CERT" and config["tls"].client_private_key == b"KEY"
