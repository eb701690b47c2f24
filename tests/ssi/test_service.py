"""The SSI service on each storage driver: sign-in, sessions, credentials, apps, keys."""

from __future__ import annotations

import asyncio

import pytest

from columba.core.accounts import PasswordPolicy, create_account
from columba.core.login import FailureTracker, LoginPolicy
from columba.ssi.limits import AddressLimiter
from columba.ssi.service import NotSignedIn, SignInRefused, SsiPolicy, SsiService
from columba.sso import CredentialVerifier, UnknownKeyId, WrongAudience
from columba.storage import Conflict, NotFound, Store
from tests.storage.conftest import Backend

FAST = PasswordPolicy(scrypt_log_n=10, scram_iterations=4096)
LOGIN = LoginPolicy(failure_delay_base=0.01, failure_delay_max=0.02, failures_before_lockout=3)


async def setup(store: Store) -> tuple[SsiService, int]:
    account = await create_account(
        store,
        display_name="Alice",
        password="correct horse",
        realm="columba.test",
        number="+8613800000001",
        policy=FAST,
    )
    service = SsiService(
        store=store,
        policy=SsiPolicy(issuer="https://columba.test", signins_per_minute=100),
        failures=FailureTracker(LOGIN),
    )
    return service, account.user_id


def verifier_for(service: SsiService, app_id: str, keys: dict[str, bytes]) -> CredentialVerifier:
    return CredentialVerifier(issuer=service.issuer, audience=app_id, keys=keys)


def test_sign_in_session_credential_sign_out(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        service, user_id = await setup(store)
        signed = await service.sign_in("+8613800000001", "correct horse", address="1.2.3.4")
        assert signed.account.user_id == user_id
        by_sid = await service.sign_in(signed.account.sid, "correct horse", address="1.2.3.4")
        assert by_sid.token != signed.token
        session, account = await service.session(signed.token)
        assert session.session_id == signed.session.session_id
        assert account.user_id == user_id
        with pytest.raises(NotSignedIn):
            await service.session(signed.token + "x")

        _app, key = await service.register_app(
            "weather", name="Weather", login_urls=["https://w.test/login"], logout_url="", alg="dir"
        )
        await service.register_app(
            "mail", name="Mail", login_urls=["https://m.test/login"], logout_url="", alg="A256KW"
        )
        with pytest.raises(Conflict):
            await service.register_app(
                "mail", name="M", login_urls=["https://m"], logout_url="", alg="dir"
            )
        issued = await service.credential(session, account, "weather", nonce="n1")
        identity = verifier_for(service, "weather", {key.kid: key.secret}).verify(
            issued.credential, nonce="n1"
        )
        assert identity.name == "Alice"
        assert identity.session_id == session.session_id
        # Pairwise: the same user has another subject at another app; stable at the same app.
        (mail_key,) = await service.keys("mail")
        mail = await service.credential(session, account, "mail")
        other = verifier_for(service, "mail", {mail_key.kid: mail_key.secret}).verify(
            mail.credential
        )
        assert other.subject != identity.subject
        again = await service.credential(session, account, "weather")
        assert (
            verifier_for(service, "weather", {key.kid: key.secret}).verify(again.credential).subject
            == identity.subject
        )
        # App y cannot use app x's credential, whatever key it holds.
        with pytest.raises((WrongAudience, UnknownKeyId)):
            verifier_for(service, "mail", {mail_key.kid: mail_key.secret}).verify(issued.credential)
        with pytest.raises(NotFound):
            await service.credential(session, account, "nope")

        delivered = await service.sign_out(session)
        assert delivered == {}  # no app registered a logout URL
        with pytest.raises(NotSignedIn):
            await service.session(signed.token)
        with pytest.raises(NotSignedIn):
            await service.credential(session, account, "weather")
        # The other session is untouched.
        assert (await service.session(by_sid.token))[1].user_id == user_id

    backend.run(scenario)


def test_bad_passwords_slow_down_then_lock(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        service, _ = await setup(store)
        for _ in range(3):
            with pytest.raises(SignInRefused) as refused:
                await service.sign_in("+8613800000001", "wrong", address="a")
            assert refused.value.status == 401
        with pytest.raises(SignInRefused) as locked:
            await service.sign_in("+8613800000001", "correct horse", address="a")
        assert locked.value.status == 403
        assert locked.value.retry_after > 0
        with pytest.raises(SignInRefused) as unknown:
            await service.sign_in("999999999", "whatever", address="a")
        assert unknown.value.status == 401

    backend.run(scenario)


def test_key_rotation_and_retirement(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        service, _ = await setup(store)
        signed = await service.sign_in("+8613800000001", "correct horse", address="a")
        _, first = await service.register_app(
            "w", name="W", login_urls=["https://w/login"], logout_url="", alg="dir"
        )
        old = await service.credential(signed.session, signed.account, "w")
        second = await service.rotate_key("w")
        new = await service.credential(signed.session, signed.account, "w")
        overlap = verifier_for(service, "w", {first.kid: first.secret, second.kid: second.secret})
        assert overlap.verify(old.credential)
        assert overlap.verify(new.credential)
        assert new.credential.split(".")[0] != old.credential.split(".")[0]  # another kid
        await service.retire_key("w", second.kid)
        after = await service.credential(signed.session, signed.account, "w")
        with pytest.raises(UnknownKeyId):
            verifier_for(service, "w", {second.kid: second.secret}).verify(after.credential)
        await service.retire_key("w", first.kid)
        with pytest.raises(NotFound):
            await service.credential(signed.session, signed.account, "w")
        keys = await service.keys("w")
        assert [k.retired_at is not None for k in keys] == [True, True]
        await service.delete_app("w")
        with pytest.raises(NotFound):
            await service.app("w")

    backend.run(scenario)


def test_session_expiry_and_purge(backend: Backend) -> None:
    now = [1_800_000_000.0]

    async def scenario(store: Store) -> None:
        service, user_id = await setup(store)
        service._clock = lambda: now[0]
        token, session = await service.open_session(user_id)
        assert (await service.session(token))[0] == session
        now[0] += service.policy.session_lifetime + 1
        with pytest.raises(NotSignedIn):
            await service.session(token)
        assert await store.ssi.purge_sessions() == 1

    backend.run(scenario, clock=lambda: now[0])


def test_address_limiter() -> None:
    limiter = AddressLimiter(per_minute=2, max_addresses=2)
    assert limiter.check("a", 0.0) == 0
    assert limiter.check("a", 1.0) == 0
    assert limiter.check("a", 2.0) == 59
    assert limiter.check("b", 2.0) == 0
    assert limiter.check("a", 61.0) == 0
    assert limiter.check("c", 200.0) == 0  # sweeps idle addresses


def test_concurrent_sign_ins_share_the_failure_counter(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        service, _ = await setup(store)
        attempts = [service.sign_in("+8613800000001", "wrong", address=str(i)) for i in range(2)]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        assert all(isinstance(r, SignInRefused) for r in results)

    backend.run(scenario)
