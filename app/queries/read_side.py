"""The read side: every query, bound to the read-only connections. Built once at start-up; it holds no state."""

from app.db.reader import Reader, ReaderChoice
from app.queries.analytics import AnalyticsQueries
from app.queries.orders import OrderQueries
from app.queries.products import ProductQueries
from app.queries.users import UserQueries


class SqlReadSide:
    def __init__(self, reader: Reader, *, currency: str, analytics: ReaderChoice | None = None) -> None:
        self.users = UserQueries(reader)
        self.products = ProductQueries(reader, currency=currency)
        self.orders = OrderQueries(reader)
        self.analytics = AnalyticsQueries(analytics or ReaderChoice(reader))
