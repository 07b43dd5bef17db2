"""Domain errors raised by services; views turn them into HTTP responses."""


class DomainError(Exception):
    """A request the rules do not allow; the message is safe to show the user."""

    status_code = 400


class NotFound(DomainError):
    """No such case, action or user."""

    status_code = 404


# A juror asking for a case not dealt to them gets the answer a missing id gets: ids reveal nothing.
NO_SUCH_CASE = "No such case, or it was not dealt to you."


class Forbidden(DomainError):
    """The user may not do this."""

    status_code = 403


class Conflict(DomainError):
    """The state moved on (already voted, case closed, lease expired)."""

    status_code = 409
