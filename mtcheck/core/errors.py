"""Errors a user sees as one plain line (no traceback)."""


class MtcheckError(Exception):
    """A failure that is the user's to fix: bad input, missing model, no space, no registry."""


class InputError(MtcheckError):
    """One input file or feed item could not be read; the run goes on with the others."""

    def __init__(self, path: str, cause: str):
        super().__init__(f"{path}: {cause}")
        self.path = path
        self.cause = cause
