"""What every error a person reads must look like: its first line is one short sentence, what is wrong and what to
do; the service's words, codes and the request id only on the line after it."""
from __future__ import annotations

import volc_pack
from volc_pack.utils.api.errors import HEADLINE_LIMIT

# A headline may start lowercase only with the name of an input it is about ("seed is 'abc', ...").
INPUT_NAMES = frozenset(name for cls in volc_pack.NODE_CLASS_MAPPINGS.values()
                        for section in cls.INPUT_TYPES().values() for name in section) | {"logo_info"}


def assert_headline(exc: BaseException) -> None:
    """The first line of str(exc): one sentence, starting with a capital (or a widget name), ending with a period,
    at most HEADLINE_LIMIT characters, holding the message and the hint and no code or request id."""
    headline = str(exc).split("\n", 1)[0]
    assert headline == exc.headline and len(headline) <= HEADLINE_LIMIT, f"{len(headline)} chars: {headline}"
    first = headline.split()[0].rstrip(":,")
    assert headline.endswith(".") and (not headline[0].islower() or first in INPUT_NAMES), headline
    for part in (exc.message, exc.hint):
        assert not part or part.rstrip(" .").split()[-1] in headline, (part, headline)
    assert "request id" not in headline and "HTTP " not in headline
