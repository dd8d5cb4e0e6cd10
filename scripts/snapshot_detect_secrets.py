"""Writes `worldflux_nb/models/redaction_detect_secrets.py`: the token rules of the installed
detect-secrets, so no command imports detect-secrets (and `requests`, which it pulls in) to redact.

Run it after upgrading detect-secrets: `.venv/bin/python scripts/snapshot_detect_secrets.py`.
`tests/test_startup.py` fails while the snapshot differs from what this script would write.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "worldflux_nb" / "models" / "redaction_detect_secrets.py"
# Token shapes only: detect-secrets' keyword, entropy and IP plugins are too noisy for evidence text,
# and its npm rule backtracks quadratically (models/redaction.py says more).
PLUGINS = (
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "CloudantDetector",
    "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "IbmCloudIamDetector",
    "IbmCosHmacDetector", "MailchimpDetector", "OpenAIDetector", "PypiTokenDetector", "SendGridDetector",
    "SlackDetector", "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector",
    "TelegramBotTokenDetector", "TwilioKeyDetector",
)


def installed_rules() -> list[tuple[str, str, int, int]]:
    """(plugin class, pattern, re flags, capture groups) of every denylist pattern of PLUGINS, in detect-secrets' own
    plugin order (`detect_secrets.core.plugins.util.get_mapping_from_secret_type_to_class`)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return [(cls.__name__, pattern.pattern, int(pattern.flags), pattern.groups)
            for cls in get_mapping_from_secret_type_to_class().values() if cls.__name__ in PLUGINS
            for pattern in cls.denylist]


def module_text() -> str:
    rows = "".join(f"    ({name!r}, {pattern!r}, {flags}, {groups}),\n"
                   for name, pattern, flags, groups in installed_rules())
    return (
        '"""detect-secrets\' token rules as the installed detect-secrets gives them (generated: do not edit).\n\n'
        "Each row is (plugin class, pattern, re flags, capture groups) from a plugin's `denylist` in\n"
        "Yelp/detect-secrets (detect_secrets/plugins/*.py), in the order of\n"
        "`detect_secrets.core.plugins.util.get_mapping_from_secret_type_to_class`. Written by\n"
        "scripts/snapshot_detect_secrets.py; tests/test_startup.py fails once the installed\n"
        'detect-secrets gives other rules.\n"""\n\n'
        f"DETECT_SECRETS_VERSION = {version('detect-secrets')!r}\n\n"
        f"RULES: tuple[tuple[str, str, int, int], ...] = (\n{rows})\n"
    )


if __name__ == "__main__":
    TARGET.write_text(module_text(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(Path.cwd()) if TARGET.is_relative_to(Path.cwd()) else TARGET}", file=sys.stderr)
