"""Client addresses: X-Forwarded-For counts only behind proxies the operator declared (EXPO_TRUSTED_PROXIES)."""
import secrets

import pytest

TOKEN_LIMIT = 30  # token requests per address every 5 minutes (expo/auth.py)


@pytest.fixture(autouse=True)
def _quick_refusal(monkeypatch):
    """Refuse the credentials at once: what is tested is whose address the limit counts, not argon2."""
    from expo import accounts
    from expo.errors import DomainError

    def refuse(_email, _password, _address):
        raise DomainError("The e-mail or password is wrong.", code="invalid_credentials", status=401)

    monkeypatch.setattr(accounts, "authenticate", refuse)


def _token_requests(client, addresses):
    """POST /api/v1/tokens with a wrong password once per forwarded address; return the statuses."""
    statuses = []
    for address in addresses:
        answer = client.post("/api/v1/tokens", json={"email": f"nobody-{secrets.token_hex(4)}@test.expo",
                                                     "password": "wrong-password"},
                             headers={"X-Forwarded-For": address})
        statuses.append(answer.status_code)
    return statuses


def test_a_forged_forwarded_address_does_not_escape_the_rate_limit(client):
    """Without trusted proxies the header is the client's own claim: the limit stays on the real address."""
    statuses = _token_requests(client, [f"203.0.113.{n}" for n in range(TOKEN_LIMIT + 1)])
    assert statuses[:TOKEN_LIMIT] == [401] * TOKEN_LIMIT
    assert statuses[TOKEN_LIMIT] == 429


@pytest.fixture(scope="module")
def proxied_app(app):
    """The app as deployed behind one proxy (a CDN or load balancer) that sets X-Forwarded-For."""
    from config import TestConfig
    from expo import create_app

    config = TestConfig()
    config.EXPO_TRUSTED_PROXIES = 1
    return create_app(config)


def test_behind_a_declared_proxy_each_visitor_has_a_limit_of_their_own(proxied_app):
    client = proxied_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.250.0.1"  # the proxy
    base = f"198.51.{secrets.randbelow(200)}."
    visitors = _token_requests(client, [f"{base}{n}" for n in range(1, TOKEN_LIMIT + 2)])
    assert visitors == [401] * (TOKEN_LIMIT + 1)  # 31 visitors behind one proxy: none limited
    one = _token_requests(client, [f"{base}250"] * (TOKEN_LIMIT + 1))
    assert one[-1] == 429  # one visitor's 31st attempt is
