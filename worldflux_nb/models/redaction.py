"""Secrets, signed URL queries and host-local paths, found and replaced before anything is written.

Two rule sets run over every text: this module's own shapes (key/value pairs whose key names a
secret, in `KEY=v`, `KEY: v`, JSON and Python-repr form; passwords in URLs and connection strings;
signed URL queries with or without a scheme; CLI and netrc credentials; token shapes; host-local
paths) and the token detectors of detect-secrets (Yelp's rule set; its keyword, entropy and IP
plugins are left out as too noisy for evidence text, and its npm rule backtracks quadratically),
read from a generated snapshot (models/redaction_detect_secrets.py) so no process imports detect-secrets.

Every rule runs in linear time: each pattern starts at a literal or a bounded prefix, and a
variable-length run is either the end of the match or bounded, so no input makes a rule rescan
the text from every position (bench/redaction.py measures 600 KB adversarial strings).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterable

from worldflux_nb.models.evidence import Redaction

# Characters that end a token in free text, JSON, Python reprs, Markdown and HTML.
_END = r"""\s"'`<>|"""
_NAME = r"A-Za-z0-9_"

# Key names that end in one of these name a secret: OPENAI_API_KEY, client_secret, AccountKey,
# AWS_SESSION_TOKEN, aws_secret_access_key, db_password, HF_TOKEN, sas_token ...
_SECRET_KEY_END = (r"(?:api[_-]?key|apikey|access[_-]?key|account[_-]?key|secret[_-]?key|private[_-]?key|"
                   r"secret|passwd|password|pwd|(?<![A-Za-z])pass|token|credentials?|(?<![A-Za-z])auth|"
                   r"connection[_-]?string|conn[_-]?str)")
# A value, quoted or bare; never a placeholder already written, nor a plain flag or null.
# Quotes may come escaped (JSON inside a JSON string: {\"password\": \"...\"}).
# Quotes may also come as HTML entities (a JSON pair printed inside an HTML output: &quot;token&quot;).
_DQ_ENTITY, _SQ_ENTITY = r"(?:&quot;|&#0{0,3}34;|&#[xX]0{0,3}22;)", r"(?:&apos;|&#0{0,3}39;|&#[xX]0{0,3}27;)"
_VALUE = (r"""\\{0,3}(?!\[REDACTED|(?:true|false|null|none|yes|no)\b)"""
          r"""(?:"(?!\[REDACTED)(?P<dq>[^"\\\n]{1,512})|'(?!\[REDACTED)(?P<sq>[^'\\\n]{1,512})|"""
          + _DQ_ENTITY + r"""(?!\[REDACTED)(?P<eq>[^&"\\\n<]{1,512})|"""
          + _SQ_ENTITY + r"""(?!\[REDACTED)(?P<esq>[^&'\\\n<]{1,512})|"""
          r"""(?P<bare>[^\s"',;&}\)\]<>|`\\]{4,512}))""")
_KEY_QUOTE = r"""(?:\\{0,3}["']|""" + _DQ_ENTITY + "|" + _SQ_ENTITY + ")?"

# (kind, pattern, group): the group to replace (0: the whole match). Order matters: URL-shaped
# secrets first, so a signed URL is one finding rather than three.
_OWN_RULES: tuple[tuple[str, str, str | int], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----", 0),  # see _private_keys
    ("password_in_url", r"(?i)(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://(?P<userinfo>[^\s/:@\"'<>`]{0,256}:"
                        r"[^\s/@\"'<>`]{1,256})@", "userinfo"),
    ("signed_url_query", r"(?i)(?:[?&;](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
                         r"x-goog-credential|sig|signature|se|sv|sp|skoid|sktid|token|access_token|"
                         r"expires|key-pair-id|policy|googleaccessid)=)", 0),  # see _signed_urls
    ("aws_access_key", r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])", 0),
    ("google_api_key", r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}", 0),
    ("github_token", r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})", 0),
    ("huggingface_token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,255}", 0),
    ("openai_api_key", r"(?<![A-Za-z0-9])sk-(?:proj-|ant-(?:api|admin)\d{0,3}-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}", 0),
    ("stripe_key", r"(?<![A-Za-z0-9])(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,255}", 0),
    ("slack_token", r"(?<![A-Za-z0-9])xox[abprseo]-[A-Za-z0-9-]{10,255}", 0),
    ("npm_token", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}", 0),
    ("gitlab_token", r"(?<![A-Za-z0-9])gl(?:pat|dt|ft|rt|soat|cbt|imt|ptt|agent|oas)-[A-Za-z0-9_-]{20,1024}", 0),
    ("wandb_api_key", r"(?i)(?<![A-Za-z0-9])wandb[_-]?api[_-]?key\s{0,5}[:=]\s{0,5}[\"']?[0-9a-f]{40}", 0),
    ("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,4096}", 0),
    ("bearer_token", r"(?i)(?<![A-Za-z0-9])bearer\s{1,5}(?P<v>[A-Za-z0-9._~+/=-]{12,2048})", "v"),
    ("authorization_header", r"(?i)(?<![A-Za-z0-9])(?:basic|token)\s{1,5}(?P<v>[A-Za-z0-9._~+/=-]{12,2048})"
                             r"(?=$|[\s\"',;])", "v"),
    ("cli_credential", r"(?i)(?<![A-Za-z0-9])(?:wandb|huggingface-cli|hf|docker|npm|gh)\s{1,5}(?:auth\s{1,5})?"
                       r"login\s{1,5}(?:--?[a-z-]{1,30}(?:[= ][^\s]{0,64})?\s{1,5}){0,4}(?P<v>[^\s\"'`-][^\s\"'`]{7,512})", "v"),
    # netrc: `machine HOST [login USER] [account A] password SECRET`, on one line or several ...
    ("netrc_password", r"(?i)(?<![A-Za-z0-9])machine\s{1,5}[^\s]{1,256}\s{1,5}(?:login\s{1,5}[^\s]{1,256}\s{1,5})?"
                       r"(?:account\s{1,5}[^\s]{1,256}\s{1,5})?(?:password|passwd)\s{1,5}(?P<v>[^\s\"'`\\]{4,512})", "v"),
    # ... or `login USER password SECRET` / a `password SECRET` line without the machine: then the
    # secret must end its line, a quoted string, or come before another netrc token, so prose
    # ("password reset required for the operator") is left alone.
    ("netrc_password", r"(?im)(?:(?<![A-Za-z0-9])login\s{1,5}[^\s]{1,256}\s{1,5}|^[ \t]{0,8})"
                       r"(?:password|passwd)[ \t]{1,5}(?P<v>[^\s\"'`\\]{4,512})"
                       r"(?=[ \t]{0,64}(?:$|(?:machine|login|account|macdef|default|password)(?:[ \t]|$))"
                       r"|[\"'`)\]}]|\\[nrt\"'\\])", "v"),
    ("aws_secret_key", r"(?i)aws_secret_access_key" + _KEY_QUOTE + r"\s{0,5}(?:=|:|=>)\s{0,5}" + _VALUE, "value"),
    ("secret_assignment", r"(?i)" + _SECRET_KEY_END + _KEY_QUOTE + r"\s{0,5}(?:=|:|=>)\s{0,5}" + _VALUE, "value"),
    ("file_url", r"(?i)(?<![A-Za-z0-9])file:/{1,3}[^" + _END + r"]*", 0),
    ("home_path", r"(?<![" + _NAME + r".~/-])(?:/home/[^/" + _END + r"]+|/Users/[^/" + _END + r"]+|/root|/Volumes/[^/"
                  + _END + r"]+)(?:/[^" + _END + r",;)\]]*)?", 0),
    ("home_path", r"(?<![" + _NAME + r".~/-])~[A-Za-z0-9_.-]{0,32}/[^" + _END + r",;)\]]*", 0),
    ("windows_user_path", r"(?i)(?<![A-Za-z0-9])[A-Z]:(?:\\{1,2}|/)(?:Users|Documents and Settings)(?:\\{1,2}|/)"
                          r"[^\\/" + _END + r"]+(?:(?:\\{1,2}|/)[^" + _END + r",;]*)?", 0),
    ("host_local_path", r"(?<![" + _NAME + r".~/-])/(?:mnt|media|scratch|data|tmp|var/folders|private/var|opt|srv|"
                        r"workspace|work|nfs|gpfs|lustre|net|run/user)/[^" + _END + r",;)\]]+", 0),
)

_TRIM = " \t\r\n=:\"'"

# A rule runs only when the lower-cased text holds one of its literals: most text holds none, and
# skipping a rule is far cheaper than running it (the literals are ones every match must contain).
_NEEDLES: dict[str, tuple[str, ...]] = {
    "private_key": ("private key",), "password_in_url": ("@",), "signed_url_query": ("=",),
    "bearer_token": ("bearer",), "authorization_header": ("basic", "token"), "cli_credential": ("login",),
    "netrc_password": ("passw",),
    "secret_assignment": ("key", "secret", "passw", "pwd", "pass", "token", "credential", "auth", "conn"),
    "aws_access_key": ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "abia", "acca"),
    "google_api_key": ("aiza",), "github_token": ("gh", "github_pat_"), "huggingface_token": ("hf_",),
    "openai_api_key": ("sk-",), "stripe_key": ("_live_", "_test_"), "slack_token": ("xox",),
    "npm_token": ("npm_",), "gitlab_token": ("gl",), "wandb_api_key": ("wandb",), "jwt": ("eyj",),
    "file_url": ("file:",), "home_path": ("/home/", "/users/", "/root", "/volumes/", "~"),
    "windows_user_path": (":\\", ":/"), "host_local_path": ("/",),
    "detect_secrets:artifactory": ("akc", "ap"), "detect_secrets:awskey": ("a3t", "abia", "acca", "akia", "asia", "aws"),
    "detect_secrets:azure_storage_key": ("accountkey",), "detect_secrets:cloudant": ("cl",),
    "detect_secrets:discord_bot_token": (".",), "detect_secrets:git_hub_token": ("gh",),
    "detect_secrets:git_lab_token": ("gl", "gr1348941"), "detect_secrets:ibm_cloud_iam": ("key", "pwd", "pass", "token"),
    "detect_secrets:ibm_cos_hmac": ("key",), "detect_secrets:mailchimp": ("-us",),
    "detect_secrets:open_ai": ("t3blbkfj",), "detect_secrets:pypi_token": ("pypi-",), "detect_secrets:send_grid": ("sg.",),
    "detect_secrets:slack": ("xox", "hooks.slack"), "detect_secrets:softlayer": ("softlayer", "sl"),
    "detect_secrets:square_oauth": ("sq0csp",), "detect_secrets:stripe": ("k_live_",),
    "detect_secrets:telegram_bot_token": (":",), "detect_secrets:twilio_key": ("ac", "sk"),
}

# (kind, pattern source, re flags, group to replace, needles). A pattern is compiled the first time
# a text holds one of its needles: most processes redact a few short texts and need few of them.
Rule = tuple[str, str, int, "str | int", frozenset[str]]


@functools.cache
def _rules() -> tuple[Rule, ...]:
    from worldflux_nb.models.redaction_detect_secrets import RULES as DETECT_SECRETS_RULES

    own = tuple((kind, pattern, 0, group, frozenset(_NEEDLES.get(kind, ()))) for kind, pattern, group in _OWN_RULES)
    theirs = []
    for plugin, pattern, flags, groups in DETECT_SECRETS_RULES:
        kind = "detect_secrets:" + re.sub(r"(?<=[a-z])(?=[A-Z])", "_", plugin.removesuffix("Detector")).lower()
        theirs.append((kind, pattern, flags, 1 if groups else 0, frozenset(_NEEDLES.get(kind, ()))))
    return own + tuple(theirs)


@functools.cache
def _compiled(pattern: str, flags: int) -> "re.Pattern[str]":
    return re.compile(pattern, flags)


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _group_span(match: re.Match[str], group: str | int) -> tuple[int, int]:
    if group == "value":
        for name in ("dq", "sq", "eq", "esq", "bare"):
            if match.group(name) is not None:
                return match.span(name)
    if group == 0:
        start, end = match.span()
        text = match.group(0)
        # detect-secrets patterns take the delimiter around a token into the match: keep it.
        return start + (len(text) - len(text.lstrip(_TRIM))), end - (len(text) - len(text.rstrip(_TRIM)))
    return match.span(group)


def _token_around(text: str, start: int, floor: int) -> tuple[int, int]:
    """The whitespace/quote-delimited token holding position `start`, not reaching back before
    `floor` (the end of the previous finding, which keeps the scan linear)."""
    left = start
    while left > floor and text[left - 1] not in _DELIMITERS:
        left -= 1
    right = start
    length = len(text)
    while right < length and text[right] not in _DELIMITERS:
        right += 1
    return left, right


_DELIMITERS = frozenset(" \t\r\n\"'`<>|()[]{},")


def _spans(text: str, kind: str, pattern: re.Pattern[str], group: str | int) -> Iterable[tuple[int, int]]:
    if kind == "private_key":
        position = 0
        while (match := pattern.search(text, position)) is not None:
            end_marker = text.find("PRIVATE KEY", match.end())
            end = text.find("-----", end_marker + 11) + 5 if end_marker != -1 else len(text)
            end = end if end >= 5 else len(text)
            yield match.start(), end
            position = end
        return
    if kind == "signed_url_query":
        floor = 0
        position = 0
        while (match := pattern.search(text, position)) is not None:
            left, right = _token_around(text, match.start(), floor)
            yield left, right
            floor = position = max(right, match.end())
        return
    for match in pattern.finditer(text):
        start, end = _group_span(match, group)
        if end > start:
            yield start, end


def _replace(text: str, kind: str, spans: Iterable[tuple[int, int]], found: list[str]) -> str:
    parts: list[str] = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        parts += [text[last:start], placeholder(kind)]
        found.append(kind)
        last = end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def redact_text(text: str, *, kinds: Callable[[str], bool] | None = None) -> tuple[str, list[str]]:
    """The text with every secret-shaped span replaced, and the kinds found (one per span).

    `kinds` picks which rules run (e.g. secrets but not paths, for an error message naming a file).
    """
    found: list[str] = []
    lowered = text.lower()
    present = {needle for needle in _all_needles() if needle in lowered}
    for kind, pattern, flags, group, needles in _rules():
        if kinds is not None and not kinds(kind):
            continue
        if needles and present.isdisjoint(needles):
            continue
        before = len(found)
        text = _replace(text, kind, _spans(text, kind, _compiled(pattern, flags), group), found)
        if len(found) != before:
            lowered = text.lower()
            present = {needle for needle in _all_needles() if needle in lowered}
    return text, found


@functools.cache
def _all_needles() -> tuple[str, ...]:
    return tuple(sorted({needle for *_, needles in _rules() for needle in needles}))


PATH_KINDS = frozenset({"home_path", "windows_user_path", "host_local_path", "file_url"})


def is_secret_kind(kind: str) -> bool:
    """A secret (as opposed to a host-local path): what an error message may not repeat."""
    return kind not in PATH_KINDS


def redact_value(value: Any, location: str) -> tuple[Any, list[Redaction]]:
    """Redact every string inside a JSON-like value (keys too, and each key with its value, so a
    pair like {"password": "hunter2"} is caught); report where and what was replaced."""
    found: list[Redaction] = []

    def walk(item: Any, where: str) -> Any:
        if isinstance(item, str):
            clean, kinds = redact_text(item)
            found.extend(Redaction(location=where, kind=k) for k in kinds)
            return clean
        if isinstance(item, dict):
            out = {}
            for key, sub in item.items():
                clean_key = walk(key, f"{where}.<key>") if isinstance(key, str) else key
                if isinstance(key, str) and isinstance(sub, (str, int, float)) and not isinstance(sub, bool):
                    paired, kinds = redact_text(f"{key}={sub}")
                    if kinds and paired.startswith(f"{clean_key}="):
                        found.extend(Redaction(location=f"{where}.{clean_key}", kind=k) for k in kinds)
                        out[clean_key] = paired[len(clean_key) + 1:] if isinstance(sub, str) else placeholder(kinds[0])
                        continue
                out[clean_key] = walk(sub, f"{where}.{clean_key}")
            return out
        if isinstance(item, list):
            return [walk(sub, f"{where}[{i}]") for i, sub in enumerate(item)]
        if isinstance(item, tuple):
            return tuple(walk(sub, f"{where}[{i}]") for i, sub in enumerate(item))
        return item

    return walk(value, location), found


def redact_pair(key: str, value: Any) -> tuple[str, Any, list[str]]:
    """A metadata key and its scalar value read together (`password` + `hunter2` is a secret neither
    is alone): the clean key, the clean value, and the kinds found."""
    clean_key, kinds = redact_text(key)
    if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        paired, pair_kinds = redact_text(f"{clean_key}={value}")
        if pair_kinds and paired.startswith(f"{clean_key}="):
            rest = paired[len(clean_key) + 1:]
            return clean_key, rest if isinstance(value, str) else placeholder(pair_kinds[0]), kinds + pair_kinds
    if isinstance(value, str):
        clean, more = redact_text(value)
        return clean_key, clean, kinds + more
    return clean_key, value, kinds


def contains_secret(text: str) -> bool:
    return bool(redact_text(text)[1])
