"""``page``/``page_size`` pagination of the brainmaps list endpoints."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import replace_query_param

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class BrainmapsPagination(PageNumberPagination):
    """Answer ``{"count", "next", "previous", "results"}`` with absolute links.

    ``page_size`` above :data:`MAX_PAGE_SIZE` is capped, and a page past the
    end raises ``NotFound`` (404 with the usual error body).
    """

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    invalid_page_message = 'Invalid page "{page_number}": {message}.'

    def get_previous_link(self) -> str | None:
        """Link to the previous page, always with an explicit ``page``.

        DRF drops ``page`` from the link to page 1; the spec shows
        ``?page=1``, and an explicit page is easier to compare in clients.
        """
        if not self.page.has_previous():
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.page.previous_page_number())
