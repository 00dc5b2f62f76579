"""`inv users.*` run as an operator runs them, against moto's Cognito on 127.0.0.1; the pool's
state is read back from the emulator after each command. Bad input: one line, exit 2, no change."""
from __future__ import annotations

import json

import boto3
import pytest

from tars_tasks.aws import cognito

EMAIL = "alice@example.com"


@pytest.fixture
def pool(endpoint):
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = idp.create_user_pool(PoolName="sre-poc-sre", UsernameConfiguration={"CaseSensitive": False},
                                   AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})["UserPool"]["Id"]
    for group in ("tars-viewers", "tars-editors"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    return idp, pool_id


def env_for(endpoint, project, pool_id, **extra):
    return {"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project), "TARS_COGNITO_USER_POOL_ID": pool_id, **extra}


def groups(idp, pool_id, email):
    return sorted(g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"])


def test_add_list_role_remove(pool, endpoint, project, run_inv, tmp_path):
    idp, pool_id = pool
    env = env_for(endpoint, project, pool_id)
    added = run_inv("users.add", EMAIL, "--role", "editor", env=env)
    assert added.returncode == 0, added.stderr
    user = idp.admin_get_user(UserPoolId=pool_id, Username=EMAIL)
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["email"] == EMAIL and attrs["email_verified"] == "true"
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD" and groups(idp, pool_id, EMAIL) == ["tars-editors"]
    assert "e-mails" in added.stdout

    assert run_inv("users.add", "bob@example.com", "--role", "viewer", env=env).returncode == 0
    report = tmp_path / "users.json"
    listed = run_inv("users.list", "--json", str(report), env=env)
    assert listed.returncode == 0 and EMAIL in listed.stdout
    rows = {u["email"]: u["role"] for u in json.loads(report.read_text())["users"]}
    assert rows == {EMAIL: "editor", "bob@example.com": "viewer"}

    demoted = run_inv("users.role", EMAIL, "--role", "viewer", env=env)
    assert demoted.returncode == 0 and "editor -> viewer" in demoted.stdout
    assert groups(idp, pool_id, EMAIL) == ["tars-viewers"]
    again = run_inv("users.role", EMAIL, "--role", "viewer", env=env)
    assert again.returncode == 0 and "no changes" in again.stdout

    assert run_inv("users.remove", EMAIL, env=env).returncode == 0
    assert [u.email for u in cognito.list_users(lambda s: idp, pool_id)] == ["bob@example.com"]


def test_a_temporary_password_from_the_environment_is_used_and_never_printed(pool, endpoint, project, run_inv):
    idp, pool_id = pool
    secret = "Tmp-Passw0rd!-from-env"
    added = run_inv("users.add", EMAIL, "--role", "viewer", env=env_for(endpoint, project, pool_id,
                                                                          TARS_USER_PASSWORD=secret))
    assert added.returncode == 0 and secret not in added.stdout + added.stderr
    reply = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="t")["UserPoolClient"]["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": secret})
    assert reply["ChallengeName"] == "NEW_PASSWORD_REQUIRED"   # temporary: they choose their own


@pytest.mark.parametrize("args, says", [
    (("users.add", "not-an-address", "--role", "viewer"), "is not an e-mail address"),
    (("users.add", EMAIL, "--role", "admin"), "unknown role 'admin'"),
    (("users.add", EMAIL), "--role is required"),
    (("users.role", EMAIL, "--role", "owner"), "unknown role 'owner'"),
    (("users.remove", "ghost@example.com"), "no user ghost@example.com"),
    (("users.role", "ghost@example.com", "--role", "editor"), "no user ghost@example.com"),
    (("users.add", "taken@example.com", "--role", "viewer"), "already exists"),
])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(pool, endpoint, project, run_inv, args, says):
    idp, pool_id = pool
    idp.admin_create_user(UserPoolId=pool_id, Username="taken@example.com")
    before = idp.list_users(UserPoolId=pool_id)["Users"]
    done = run_inv(*args, env=env_for(endpoint, project, pool_id))
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2   # the line and its hint
    assert idp.list_users(UserPoolId=pool_id)["Users"] == before
    assert groups(idp, pool_id, "taken@example.com") == []


def test_without_a_pool_it_says_where_the_pool_comes_from(endpoint, project, run_inv):
    done = run_inv("users.list", env={"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(project)})
    assert done.returncode == 2 and "no user pool configured" in done.stderr and "Traceback" not in done.stderr


def test_dry_run_shows_the_calls_and_changes_nothing(pool, endpoint, project, run_inv, tmp_path):
    """--dry-run prints the plan the real run executes (each admin call) and the pool is unchanged."""
    idp, pool_id = pool
    env = env_for(endpoint, project, pool_id)

    def state():
        users = sorted((u["Username"], u["UserStatus"], u["Enabled"]) for u in idp.list_users(UserPoolId=pool_id)["Users"])
        return users, {u: groups(idp, pool_id, u) for u, _, _ in users}

    before = state()
    report = tmp_path / "add.json"
    added = run_inv("users.add", EMAIL, "--role", "editor", "--dry-run", "--json", str(report), env=env)
    assert added.returncode == 0, added.stderr
    assert f"AdminCreateUser {EMAIL}" in added.stdout and "AdminAddUserToGroup" in added.stdout
    assert state() == before == ([], {})
    data = json.loads(report.read_text())
    assert data["dry_run"] is True and data["outcome"]["status"] == "planned"

    assert run_inv("users.add", EMAIL, "--role", "editor", env=env).returncode == 0
    before = state()
    demote = run_inv("users.role", EMAIL, "--role", "viewer", "--dry-run", env=env)
    assert demote.returncode == 0, demote.stderr
    assert "AdminAddUserToGroup" in demote.stdout and "AdminRemoveUserFromGroup" in demote.stdout
    assert "AdminUserGlobalSignOut" in demote.stdout
    gone = run_inv("users.remove", EMAIL, "--dry-run", env=env)
    assert gone.returncode == 0 and f"AdminDeleteUser {EMAIL}" in gone.stdout
    assert state() == before and before[1] == {EMAIL: ["tars-editors"]}


def test_exist_ok_leaves_an_existing_user_as_it_is(pool, endpoint, project, run_inv):
    """make demo's `users.add ... --exist-ok`: a second add changes nothing (not even the role)."""
    idp, pool_id = pool
    env = env_for(endpoint, project, pool_id)
    assert run_inv("users.add", EMAIL, "--role", "editor", env=env).returncode == 0
    before = idp.admin_get_user(UserPoolId=pool_id, Username=EMAIL)
    again = run_inv("users.add", EMAIL, "--role", "viewer", "--exist-ok", env=env)
    assert again.returncode == 0 and "exists already: no changes" in again.stdout, again.stderr
    assert idp.admin_get_user(UserPoolId=pool_id, Username=EMAIL)["UserStatus"] == before["UserStatus"]
    assert groups(idp, pool_id, EMAIL) == ["tars-editors"]
