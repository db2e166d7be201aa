"""The shared TLS context of the outbound HTTP clients verifies servers, and is made once."""

from __future__ import annotations

import ssl

from activities.adapters.tls import client_context


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded
    assert client_context() is context
