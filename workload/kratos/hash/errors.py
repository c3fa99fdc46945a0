"""Errors raised by password hashing and hash verification."""


class UnknownHashFormatError(ValueError):
    """A stored or imported hash is not in a supported format, or its parameters are out of bounds."""


class PasswordTooLongError(ValueError):
    """bcrypt only uses the first 72 bytes of a password: longer ones are refused, as upstream does."""

    def __init__(self, length: int) -> None:
        super().__init__(f"passwords are limited to a maximum length of 72 bytes, got {length}")
        self.length = length
