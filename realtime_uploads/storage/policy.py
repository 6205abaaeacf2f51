"""The presigned POST policy: written once, issued by every backend, enforced by ``local``.

An S3 POST policy is a JSON document ``{"expiration": ISO-8601, "conditions":
[...]}`` sent base64-encoded in the form's ``policy`` field (AWS: "Creating a
POST policy", docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html).
We pin the exact object key, the exact ``Content-Type`` and a
``content-length-range`` of exactly the size declared at presign. The S3 backend hands :meth:`PostPolicy.conditions`
to boto3's ``generate_presigned_post``; the local backend encodes the same
document, signs it, and :meth:`PostPolicy.check_fields` /
:meth:`PostPolicy.check_size` refuse what S3 would refuse, with S3's error codes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from realtime_uploads.exceptions import PolicyError

#: Form fields S3 never requires a condition for (besides ``x-ignore-*``).
UNCONDITIONED_FIELDS = frozenset({"policy", "x-amz-signature", "file"})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class PostPolicy:
    """One upload's policy: exact ``key``, exact ``content_type``, size range in bytes.

    ``tagging`` (optional) is an exact S3 object-tagging XML document the
    browser must send in the ``tagging`` field; the s3 backend uses it to mark
    originals ``pending`` for the bucket's lifecycle rule.
    """

    key: str
    content_type: str
    min_size: int
    max_size: int
    expires_at: datetime
    tagging: str | None = None

    def conditions(self) -> list:
        """S3 policy conditions (the bucket condition is the S3 backend's to add)."""
        conditions: list = [{"key": self.key}, {"Content-Type": self.content_type}]
        if self.tagging is not None:
            conditions.append({"tagging": self.tagging})
        conditions.append(["content-length-range", self.min_size, self.max_size])
        return conditions

    def fields(self) -> dict[str, str]:
        """The form fields the browser must send verbatim, besides ``policy`` and the signature."""
        fields = {"key": self.key, "Content-Type": self.content_type}
        if self.tagging is not None:
            fields["tagging"] = self.tagging
        return fields

    def document(self) -> dict:
        """The policy document as a dict."""
        return {"expiration": _iso(self.expires_at), "conditions": self.conditions()}

    def encode(self) -> str:
        """The base64 policy, as sent in the form's ``policy`` field."""
        raw = json.dumps(self.document(), separators=(",", ":"), sort_keys=True)
        return base64.b64encode(raw.encode("utf-8")).decode("ascii")

    @classmethod
    def decode(cls, encoded: str) -> PostPolicy:
        """Parse a base64 policy made by :meth:`encode`. Raises PolicyError (400)."""
        try:
            doc = json.loads(base64.b64decode(encoded, validate=True))
            expires = datetime.strptime(doc["expiration"], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)
            found: dict = {}
            for condition in doc["conditions"]:
                if isinstance(condition, dict):
                    found.update(condition)
                elif condition[0] == "content-length-range":
                    found["range"] = (int(condition[1]), int(condition[2]))
            return cls(found["key"], found["Content-Type"], *found["range"], expires_at=expires,
                       tagging=found.get("tagging"))
        except (ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:  # deep nesting: bad JSON
            raise PolicyError("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", 400) from exc

    def check_fields(self, fields: Mapping[str, str], *, now: datetime) -> None:
        """Refuse an expired policy, a field not matching its condition, or an extra field.

        ``fields`` are the form's non-file fields. Raises PolicyError
        (``AccessDenied``, 403), with S3's wording.
        """
        if now >= self.expires_at:
            raise PolicyError("AccessDenied", "Invalid according to Policy: Policy expired.", 403)
        for name, expected in self.fields().items():
            if fields.get(name) != expected:
                raise PolicyError(
                    "AccessDenied",
                    f'Invalid according to Policy: Policy Condition failed: ["eq", "${name}", "{expected}"]',
                    403,
                )
        extra = sorted(
            name for name in fields
            if name not in self.fields() and name not in UNCONDITIONED_FIELDS
            and not name.startswith("x-ignore-")
        )
        if extra:
            raise PolicyError(
                "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}", 403
            )

    def check_size(self, size: int) -> None:
        """Refuse a file outside ``content-length-range`` (bytes). Raises PolicyError (400)."""
        allowed = f"{self.min_size}" if self.min_size == self.max_size else f"{self.min_size} to {self.max_size}"
        if size < self.min_size:
            raise PolicyError(
                "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size "
                f"({size} bytes; the policy allows {allowed} bytes, the size declared at presign)", 400
            )
        if size > self.max_size:
            raise PolicyError(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size "
                f"({size} bytes; the policy allows {allowed} bytes, the size declared at presign)", 400
            )


def entity_too_large() -> PolicyError:
    """S3's answer to a file over the ``content-length-range`` maximum."""
    return PolicyError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
