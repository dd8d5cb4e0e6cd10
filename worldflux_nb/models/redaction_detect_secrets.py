"""detect-secrets' token rules as the installed detect-secrets gives them (generated: do not edit).

Each row is (plugin class, pattern, re flags, capture groups) from a plugin's `denylist` in
Yelp/detect-secrets (detect_secrets/plugins/*.py), in the order of
`detect_secrets.core.plugins.util.get_mapping_from_secret_type_to_class`. Written by
scripts/snapshot_detect_secrets.py; tests/test_startup.py fails once the installed
detect-secrets gives other rules.
"""

DETECT_SECRETS_VERSION = '1.5.0'

RULES: tuple[tuple[str, str, int, int], ...] = (
    ('ArtifactoryDetector', '(?:\\s|=|:|"|^)AKC[a-zA-Z0-9]{10,}(?:\\s|"|$)', 32, 0),
    ('ArtifactoryDetector', '(?:\\s|=|:|"|^)AP[\\dABCDEF][a-zA-Z0-9]{8,}(?:\\s|"|$)', 32, 0),
    ('AWSKeyDetector', '(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}', 32, 0),
    ('AWSKeyDetector', 'aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\\\'\\"]([0-9a-zA-Z/+]{40})[\\\'\\"]', 34, 1),
    ('AzureStorageKeyDetector', 'AccountKey=[a-zA-Z0-9+\\/=]{88}', 32, 0),
    ('CloudantDetector', '(?:(?<=\\W)|(?<=^))(?:\\[|)(?:"|\\\'|)(?:cloudant|cl|clou)(?:_|-|)(?:api|)(?:key|pwd|pw|password|pass|token)(?:"|\\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\\\'|)([0-9a-f]{64})(?:"|\\\'|)', 34, 1),
    ('CloudantDetector', '(?:(?<=\\W)|(?<=^))(?:\\[|)(?:"|\\\'|)(?:cloudant|cl|clou)(?:_|-|)(?:api|)(?:key|pwd|pw|password|pass|token)(?:"|\\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\\\'|)([a-z]{24})(?:"|\\\'|)', 34, 1),
    ('CloudantDetector', '(?:https?\\:\\/\\/)[\\w\\-]+\\:([0-9a-f]{64})\\@[\\w\\-]+\\.cloudant\\.com', 34, 1),
    ('CloudantDetector', '(?:https?\\:\\/\\/)[\\w\\-]+\\:([a-z]{24})\\@[\\w\\-]+\\.cloudant\\.com', 34, 1),
    ('DiscordBotTokenDetector', '[MNO][a-zA-Z\\d_-]{23,25}\\.[a-zA-Z\\d_-]{6}\\.[a-zA-Z\\d_-]{27}', 32, 0),
    ('GitHubTokenDetector', '(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}', 32, 1),
    ('GitLabTokenDetector', '(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\\-]{20,50}(?!\\w)', 32, 1),
    ('GitLabTokenDetector', 'GR1348941[A-Za-z0-9_\\-]{20,50}(?!\\w)', 32, 0),
    ('GitLabTokenDetector', 'glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\\-]{20,50}(?!\\w)', 32, 1),
    ('GitLabTokenDetector', 'glimt-[A-Za-z0-9_\\-]{25}(?!\\w)', 32, 0),
    ('GitLabTokenDetector', 'glptt-[A-Za-z0-9_\\-]{40}(?!\\w)', 32, 0),
    ('GitLabTokenDetector', 'glagent-[A-Za-z0-9_\\-]{50,1024}(?!\\w)', 32, 0),
    ('GitLabTokenDetector', 'gloas-[A-Za-z0-9_\\-]{64}(?!\\w)', 32, 0),
    ('IbmCloudIamDetector', '(?:(?<=\\W)|(?<=^))(?:\\[|)(?:"|\\\'|)(?:ibm(?:_|-|)cloud(?:_|-|)iam|cloud(?:_|-|)iam|ibm(?:_|-|)cloud|ibm(?:_|-|)iam|ibm|iam|cloud|)(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)(?:"|\\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\\\'|)([a-zA-Z0-9_\\-]{44}(?![a-zA-Z0-9_\\-]))(?:"|\\\'|)', 34, 1),
    ('IbmCosHmacDetector', '(?:(?<=\\W)|(?<=^))(?:\\[|)(?:"|\\\'|)(?:(?:ibm)?[-_]?cos[-_]?(?:hmac)?|)(?:_|-|)(?:secret[-_]?(?:access)?[-_]?key)(?:"|\\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\\\'|)([a-f0-9]{48}(?![a-f0-9]))(?:"|\\\'|)', 34, 1),
    ('MailchimpDetector', '[0-9a-z]{32}-us[0-9]{1,2}', 32, 0),
    ('OpenAIDetector', 'sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}', 32, 0),
    ('PypiTokenDetector', 'pypi-AgEIcHlwaS5vcmc[A-Za-z0-9-_]{70,}', 32, 0),
    ('PypiTokenDetector', 'pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9-_]{70,}', 32, 0),
    ('SendGridDetector', 'SG\\.[a-zA-Z0-9_-]{22}\\.[a-zA-Z0-9_-]{43}', 32, 0),
    ('SlackDetector', 'xox(?:a|b|p|o|s|r)-(?:\\d+-)+[a-z0-9]+', 34, 0),
    ('SlackDetector', 'https://hooks\\.slack\\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+', 98, 0),
    ('SoftlayerDetector', '(?:(?<=\\W)|(?<=^))(?:\\[|)(?:"|\\\'|)(?:softlayer|sl)(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)(?:"|\\\'|)(?:\\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\\\'|)([a-z0-9]{64})(?:"|\\\'|)', 34, 1),
    ('SoftlayerDetector', '(?:http|https)://api.softlayer.com/soap/(?:v3|v3.1)/([a-z0-9]{64})', 34, 1),
    ('SquareOAuthDetector', 'sq0csp-[0-9A-Za-z\\\\\\-_]{43}', 32, 0),
    ('StripeDetector', '(?:r|s)k_live_[0-9a-zA-Z]{24}', 32, 0),
    ('TelegramBotTokenDetector', '\\d{8,10}:[0-9A-Za-z_-]{35}', 32, 0),
    ('TwilioKeyDetector', 'AC[a-z0-9]{32}', 32, 0),
    ('TwilioKeyDetector', 'SK[a-z0-9]{32}', 32, 0),
)
