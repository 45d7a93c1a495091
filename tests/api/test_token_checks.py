"""A staff token's signature is verified once per process (a kitchen screen sends the same token all day); its
expiry is still checked at every request, and the remembered check belongs to the secret it was made with."""

import time

import pytest

from api.auth import mint_token, verify_token
from api.problems import ProblemError

SECRET = "a-secret-for-the-token-checks-long-enough-for-hs256"


def refusal(token: str, secret: str) -> ProblemError:
    with pytest.raises(ProblemError) as refused:
        verify_token(token, secret)
    return refused.value


def test_a_token_accepted_before_is_refused_once_it_has_expired():
    token = mint_token(SECRET, "luigi", ["kitchen"], ttl_seconds=2)
    assert verify_token(token, SECRET).name == "luigi"
    assert verify_token(token, SECRET).name == "luigi"  # remembered
    time.sleep(2.1)
    refused = refusal(token, SECRET)
    assert (refused.status, refused.detail) == (401, "the token has expired")


def test_a_token_accepted_with_one_secret_is_not_accepted_with_another():
    token = mint_token(SECRET, "luigi", ["kitchen"])
    assert verify_token(token, SECRET).roles == frozenset({"kitchen"})
    refused = refusal(token, SECRET.replace("a-secret", "another-secret"))
    assert (refused.status, refused.detail) == (401, "the token's signature is not valid")


def test_an_altered_copy_of_an_accepted_token_is_refused():
    token = mint_token(SECRET, "luigi", ["kitchen"])
    verify_token(token, SECRET)
    header, claims, signature = token.split(".")
    forged = f"{header}.{claims}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert refusal(forged, SECRET).status == 401
