"""The charm's file resources: the verification email template an operator may attach."""

import logging

import ops

logger = logging.getLogger(__name__)

VERIFICATION_EMAIL_TEMPLATE = "verification-email-template"


class FileResourceError(Exception):
    """An attached resource cannot be used; the message says how to attach a good one."""


def read_text_resource(resources: ops.Resources, name: str, app_name: str) -> str | None:
    """Return the attached resource's text, or None when it is absent or empty.

    Raises FileResourceError when the file is not UTF-8 text.
    """
    try:
        path = resources.fetch(name)
    except (ops.ModelError, NameError) as e:
        logger.debug("resource %s is not attached: %s", name, e)
        return None
    raw = path.read_bytes()
    if not raw.strip():
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileResourceError(
            f"The {name} resource is not UTF-8 text (byte {e.start}); the default template is used. "
            f"Attach a UTF-8 file: `juju attach-resource {app_name} {name}=<file>`"
        ) from None
