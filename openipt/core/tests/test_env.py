import pytest
from django.core.exceptions import ImproperlyConfigured

from openipt.core import env


def test_env_bool_rejects_garbage(monkeypatch):
    monkeypatch.setenv("X_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env.env_bool("X_FLAG")


def test_env_reads_file_variant(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env.env_str("X_SECRET") == "s3cret"


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_INT", "15")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_int("X_INT", 3) == 15
    assert env.env_list("X_LIST") == ["a", "b", "c"]
    monkeypatch.setenv("X_INT", "fifteen")
    with pytest.raises(ImproperlyConfigured):
        env.env_int("X_INT", 3)


def test_secret_key_created_once(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = env.secret_key_from_file(path)
    assert len(first) > 50
    assert env.secret_key_from_file(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.django_db
def test_personas_build(personas):
    assert personas.dana.practice == personas.practice
    assert personas.erin.practice != personas.practice
