"""Security headers on every answer: a strict CSP, framing rules, no sniffing."""
from urllib.parse import urlsplit

from flask import g


def _origin(url):
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(config, embed_hosts=(), frame_ancestors="'none'"):
    """Return the site's CSP: scripts and styles only from this origin, no inline script; frames only from the
    sandbox origin and the allowed embed hosts."""
    media = " ".join(filter(None, ["'self'", _origin(config.get("EXPO_MEDIA_BASE_URL"))]))
    # 'self': the editor frames its own live preview (the only page whose frame-ancestors allow it).
    frames = " ".join(filter(None, ["'self'", _origin(config.get("EXPO_SANDBOX_ORIGIN"))]
                              + [f"https://{h}" for h in sorted(set(config.get("EXPO_EMBED_HOSTS", []))
                                                                | set(embed_hosts))])) or "'none'"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # H5 posters come from the sandbox origin, beside the bundle they show.
        " ".join(filter(None, ["img-src", media, _origin(config.get("EXPO_SANDBOX_ORIGIN")), "data: blob:"])),
        f"media-src {media} blob:",
        # The store's public origin: browsers PUT upload parts straight to it.
        " ".join(filter(None, ["connect-src 'self'", _origin(config.get("EXPO_MEDIA_BASE_URL")),
                               _origin(config.get("EXPO_S3_PUBLIC_ENDPOINT"))])),
        "font-src 'self'",
        f"frame-src {frames}",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


def install(app):
    """Add the security headers to every response of APP."""

    @app.after_request
    def _headers(response):
        headers = response.headers
        framable = g.get("frame_by_self", False)  # set by views that the site itself frames (the live preview)
        if "Content-Security-Policy" not in headers:
            # Built per response (a few microseconds): the sandbox origin may be set after start-up (the tests pick
            # free ports), and curators change the embed hosts (their owner caches the list).
            hosts = app.extensions.get("expo_embed_hosts", tuple)()
            headers["Content-Security-Policy"] = content_security_policy(
                app.config, hosts, "'self'" if framable else "'none'")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framable else "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("EXPO_SECURE_COOKIES"):
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
