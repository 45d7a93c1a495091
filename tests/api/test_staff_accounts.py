"""Staff accounts and sign-in through the HTTP API: a manager makes accounts, staff sign in with a password and
get a 12-hour token, repeated failures lock a username out, and a deleted account's tokens stop working."""

import json
import uuid

import jwt
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from activities.store.staff import StaffStore
from activities.store.tables import make_engine
from tests.api.conftest import assert_problem, kitchen_headers, manager_headers
from tests.conftest import SECRET, Stack, staff_headers

PASSWORD = "a-long-kitchen-password"
WRONG = "wrong username or password"


def new_name(prefix: str = "cook") -> str:
    """A username no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def make_account(stack: Stack, roles: list[str], username: str | None = None, password: str = PASSWORD) -> str:
    username = username or new_name(roles[0])
    body = {"username": username, "password": password, "roles": roles}
    made = await stack.http.post("/api/staff", json=body, headers=manager_headers())
    assert made.status_code == 201, made.text
    return username


async def sign_in(stack: Stack, username: str, password: str = PASSWORD):
    return await stack.http.post("/api/auth/token", data={"username": username, "password": password})


async def token_of(stack: Stack, username: str, password: str = PASSWORD) -> str:
    signed_in = await sign_in(stack, username, password)
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def delete_account(stack: Stack, username: str) -> None:
    deleted = await stack.http.delete(f"/api/staff/{username}", headers=manager_headers())
    assert deleted.status_code == 204, deleted.text


# --- signing in -----------------------------------------------------------------------------------


async def test_staff_sign_in_with_a_password_and_get_a_twelve_hour_token_that_works_on_their_routes(
    stack: Stack,
) -> None:
    username = await make_account(stack, ["kitchen"])
    signed_in = await sign_in(stack, username)
    assert signed_in.status_code == 200, signed_in.text
    body = signed_in.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 12 * 3600
    assert signed_in.headers["cache-control"] == "no-store"  # no cache between keeps a copy of the token
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == username and claims["roles"] == ["kitchen"]
    assert claims["exp"] - claims["iat"] == 12 * 3600
    queue = await stack.http.get("/api/kitchen/queue", headers=bearer(body["access_token"]))
    assert queue.status_code == 200, queue.text
    refused = await stack.http.get("/api/staff", headers=bearer(body["access_token"]))
    assert_problem(refused, 403)  # a kitchen account is no manager


async def test_a_username_is_read_as_typed_on_a_phone(stack: Stack) -> None:
    username = await make_account(stack, ["driver"])
    token = await token_of(stack, f" {username.capitalize()} ")
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["sub"] == username


async def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen"])
    answers = [
        await sign_in(stack, username, "not-the-password-at-all"),
        await sign_in(stack, new_name("nobody"), PASSWORD),
        await sign_in(stack, "x" * 500, PASSWORD),
        await sign_in(stack, username, PASSWORD + "x" * 2000),  # longer than any password kept
    ]
    for answer in answers:
        problem = assert_problem(answer, 401)
        assert problem["detail"] == WRONG
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "access_token" not in answer.text


async def test_the_form_the_docs_page_sends_signs_in_too(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen"])
    form = {"grant_type": "password", "username": username, "password": PASSWORD, "scope": "", "client_id": ""}
    assert (await stack.http.post("/api/auth/token", data=form)).status_code == 200
    problem = assert_problem(await stack.http.post("/api/auth/token", data={**form, "grant_type": "magic"}), 422)
    assert "grant_type" in problem["detail"]


async def test_a_sign_in_without_a_password_is_refused_as_malformed(stack: Stack) -> None:
    problem = assert_problem(await stack.http.post("/api/auth/token", data={"username": "luigi"}), 422)
    assert "password" in problem["detail"]


async def test_five_failures_lock_a_username_out_even_for_the_right_password_and_no_one_else(stack: Stack) -> None:
    username, neighbour = await make_account(stack, ["kitchen"]), await make_account(stack, ["kitchen"])
    for _ in range(5):
        assert_problem(await sign_in(stack, username, "a-guess-that-is-wrong"), 401)
    locked = await sign_in(stack, username, PASSWORD)
    problem = assert_problem(locked, 429)
    assert 0 < int(locked.headers["retry-after"]) <= 300
    assert "too many failed sign-ins" in problem["detail"]
    assert_problem(await sign_in(stack, username.upper(), PASSWORD), 429)  # the same username, typed otherwise
    assert (await sign_in(stack, neighbour)).status_code == 200


async def test_an_unknown_username_is_locked_out_as_a_known_one_is(stack: Stack) -> None:
    unknown = new_name("nobody")
    for _ in range(5):
        assert_problem(await sign_in(stack, unknown, "a-guess-that-is-wrong"), 401)
    assert_problem(await sign_in(stack, unknown, "a-guess-that-is-wrong"), 429)


async def test_a_success_clears_the_failures_before_it(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen"])
    for _ in range(4):
        assert_problem(await sign_in(stack, username, "a-guess-that-is-wrong"), 401)
    await token_of(stack, username)
    for _ in range(4):
        assert_problem(await sign_in(stack, username, "a-guess-that-is-wrong"), 401)
    assert (await sign_in(stack, username)).status_code == 200


async def test_a_hash_made_with_older_parameters_is_made_again_at_sign_in(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen"])
    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1),)).hash(PASSWORD)
    engine = make_engine(stack.settings.database_url)
    try:
        store = StaffStore(engine)
        account = store.account(username)
        assert store.replace_hash(username, account.account_key, weak)
        await token_of(stack, username)
        renewed = store.account(username).password_hash
    finally:
        engine.dispose()
    assert renewed != weak and renewed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    await token_of(stack, username)  # the new hash holds the same password


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(b"username=lu%00igi&password=a-long-kitchen-password", id="nul-in-username"),
        pytest.param(b"username=%ED%A0%80luigi&password=a-long-kitchen-password", id="surrogate-in-username"),
        pytest.param(b"username=%FF%FE&password=%FF", id="not-utf-8"),
        pytest.param(b"username=luigi&password=%ED%A0%80%00", id="surrogate-and-nul-in-password"),
    ],
)
async def test_a_sign_in_with_characters_no_account_has_is_just_wrong(stack: Stack, form: bytes) -> None:
    # On PostgreSQL too (`make test-postgres`), whose text columns cannot hold a NUL.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await stack.http.post("/api/auth/token", content=form, headers=headers)
    assert assert_problem(answer, 401)["detail"] == WRONG


# --- managing staff -------------------------------------------------------------------------------


async def test_a_manager_makes_lists_and_deletes_staff_accounts_never_seeing_a_password(stack: Stack) -> None:
    username = new_name("peach")
    body = {"username": username, "password": PASSWORD, "roles": ["driver", "kitchen"]}
    made = await stack.http.post("/api/staff", json=body, headers=manager_headers())
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"username", "roles", "created_at"}
    assert made.json()["username"] == username and sorted(made.json()["roles"]) == ["driver", "kitchen"]

    listed = await stack.http.get("/api/staff", headers=manager_headers())
    assert listed.status_code == 200
    [mine] = [account for account in listed.json() if account["username"] == username]
    assert mine == made.json()
    assert all(set(account) == {"username", "roles", "created_at"} for account in listed.json())
    assert PASSWORD not in listed.text and "argon2" not in listed.text and "$" not in json.dumps(listed.json())
    names = [account["username"] for account in listed.json()]
    assert names == sorted(names)

    assert_problem(await stack.http.post("/api/staff", json=body, headers=manager_headers()), 409)
    await delete_account(stack, username)
    left = (await stack.http.get("/api/staff", headers=manager_headers())).json()
    assert username not in [account["username"] for account in left]
    problem = assert_problem(await stack.http.delete(f"/api/staff/{username}", headers=manager_headers()), 404)
    assert username in problem["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"username": "ab"}, "username", id="username-too-short"),
        pytest.param({"username": "a" * 41}, "username", id="username-too-long"),
        pytest.param({"username": "Luigi"}, "username", id="username-upper-case"),
        pytest.param({"username": "lu igi"}, "username", id="username-space"),
        pytest.param({"username": "luigi\n"}, "username", id="username-line-break"),
        pytest.param({"username": 12345}, "username", id="username-number"),
        pytest.param({"password": "elevenchars"}, "password", id="password-too-short"),
        pytest.param({"password": "p" * 1025}, "password", id="password-too-long"),
        pytest.param({"roles": []}, "roles", id="no-role"),
        pytest.param({"roles": ["chef"]}, "roles[0]", id="unknown-role"),
        pytest.param({"roles": ["kitchen", "kitchen"]}, "roles", id="role-twice"),
        pytest.param({"roles": "kitchen"}, "roles", id="roles-not-a-list"),
        pytest.param({"roles": None}, "roles", id="roles-null"),
        pytest.param({"admin": True}, "admin", id="unknown-field"),
    ],
)
async def test_a_malformed_account_is_refused_naming_the_field(stack: Stack, change: dict, field: str) -> None:
    body = {"username": new_name(), "password": PASSWORD, "roles": ["kitchen"], **change}
    problem = assert_problem(await stack.http.post("/api/staff", json=body, headers=manager_headers()), 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    if isinstance(body["username"], str) and body["username"] != "ab":
        listed = (await stack.http.get("/api/staff", headers=manager_headers())).json()
        assert body["username"] not in [a["username"] for a in listed]


async def test_a_password_utf_8_cannot_hold_is_refused_naming_it(stack: Stack) -> None:
    body = b'{"username": "surrogate-owner", "password": "\\ud800-and-long-enough", "roles": ["kitchen"]}'
    headers = {**manager_headers(), "Content-Type": "application/json"}
    problem = assert_problem(await stack.http.post("/api/staff", content=body, headers=headers), 422)
    assert [e["field"] for e in problem["errors"]] == ["password"]


async def test_deleting_a_name_no_account_could_have_is_a_404(stack: Stack) -> None:
    for name in ("a%00b", "%ED%A0%80abc", "UPPER"):
        assert_problem(await stack.http.delete(f"/api/staff/{name}", headers=manager_headers()), 404)


async def test_a_missing_field_is_named(stack: Stack) -> None:
    body = {"username": new_name(), "roles": ["kitchen"]}
    problem = assert_problem(await stack.http.post("/api/staff", json=body, headers=manager_headers()), 422)
    assert [e["field"] for e in problem["errors"]] == ["password"]


@pytest.mark.parametrize("roles", [["kitchen"], ["driver"]])
async def test_staff_accounts_are_for_managers_only(stack: Stack, roles: list[str]) -> None:
    other = await make_account(stack, ["driver"])
    headers = staff_headers(*roles)
    body = {"username": new_name(), "password": PASSWORD, "roles": ["manager"]}
    for call in (
        stack.http.get("/api/staff", headers=headers),
        stack.http.post("/api/staff", json=body, headers=headers),
        stack.http.delete(f"/api/staff/{other}", headers=headers),
    ):
        assert "manager" in assert_problem(await call, 403)["detail"]
    assert_problem(await stack.http.get("/api/staff"), 401)
    assert_problem(await stack.http.post("/api/staff", json=body), 401)
    assert_problem(await stack.http.delete(f"/api/staff/{other}"), 401)
    still = (await stack.http.get("/api/staff", headers=manager_headers())).json()
    assert other in [a["username"] for a in still] and body["username"] not in [a["username"] for a in still]


async def test_the_last_manager_account_is_never_deleted_and_the_answer_says_why(stack: Stack) -> None:
    keeper = await make_account(stack, ["manager"])
    accounts = (await stack.http.get("/api/staff", headers=manager_headers())).json()
    for account in accounts:  # the managers other tests made
        if "manager" in account["roles"] and account["username"] != keeper:
            await delete_account(stack, account["username"])
    refused = await stack.http.delete(f"/api/staff/{keeper}", headers=manager_headers())
    problem = assert_problem(refused, 409)
    assert keeper in problem["detail"] and "last manager" in problem["detail"]
    assert (await sign_in(stack, keeper)).status_code == 200
    other = await make_account(stack, ["manager"])
    await delete_account(stack, keeper)  # now it is not the last
    assert_problem(await stack.http.delete(f"/api/staff/{other}", headers=manager_headers()), 409)


# --- deleted accounts -----------------------------------------------------------------------------


async def test_a_deleted_accounts_token_is_refused_by_bearer_and_by_cookie(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen", "manager"])
    token = await token_of(stack, username)
    cookie = {"Cookie": f"pizzeria_session={token}"}
    assert (await stack.http.get("/api/kitchen/queue", headers=bearer(token))).status_code == 200
    assert (await stack.http.get("/api/kitchen/queue", headers=cookie)).status_code == 200
    assert (await stack.http.post("/codec/decode", json={"payloads": []}, headers=bearer(token))).status_code == 200

    await delete_account(stack, username)
    for headers in (bearer(token), cookie):
        problem = assert_problem(await stack.http.get("/api/kitchen/queue", headers=headers), 401)
        assert "no longer exists" in problem["detail"]
    assert_problem(await stack.http.post("/codec/decode", json={"payloads": []}, headers=bearer(token)), 401)


async def test_an_account_made_again_under_the_same_name_does_not_revive_old_tokens(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen"])
    old = await token_of(stack, username)
    await delete_account(stack, username)
    await make_account(stack, ["kitchen"], username=username, password="a-brand-new-password")
    assert_problem(await stack.http.get("/api/kitchen/queue", headers=bearer(old)), 401)
    new = await token_of(stack, username, "a-brand-new-password")
    assert (await stack.http.get("/api/kitchen/queue", headers=bearer(new))).status_code == 200
    assert_problem(await sign_in(stack, username, PASSWORD), 401)  # the old password went with the old account


async def test_a_token_minted_by_a_script_is_tied_to_no_account(stack: Stack) -> None:
    username = await make_account(stack, ["kitchen"])
    await delete_account(stack, username)
    minted = kitchen_headers(sub=username)  # signed with the same secret, as `python -m api.auth` does
    assert (await stack.http.get("/api/kitchen/queue", headers=minted)).status_code == 200


async def test_a_token_whose_account_claim_is_not_text_is_refused(stack: Stack) -> None:
    from api.auth import mint_token

    token = mint_token(SECRET, "luigi", ["kitchen"], 600, acct=12345)
    assert "acct" in assert_problem(await stack.http.get("/api/kitchen/queue", headers=bearer(token)), 401)["detail"]


# --- the document ---------------------------------------------------------------------------------


async def test_the_openapi_document_offers_the_password_flow_so_docs_can_sign_in(stack: Stack) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    [scheme] = document["components"]["securitySchemes"].values()
    assert scheme["type"] == "oauth2" and scheme["flows"]["password"]["tokenUrl"] == "/api/auth/token"
    token = document["paths"]["/api/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert {"200", "401", "422", "429"} <= token["responses"].keys()
    assert {"get", "post"} <= document["paths"]["/api/staff"].keys()
    assert "delete" in document["paths"]["/api/staff/{username}"]
