#!/usr/bin/env python
"""Demo data for the README run command (`--demo`); idempotent.

`--demo` adds a demo customer (customer@example.com / customer-password-123) through the
service layer, exactly as the API would.

`--orders N` (with `--users`, `--products`, `--days`, `--seed`, `--until`) loads a large synthetic data set
reproducibly; see scripts/bulk_seed.py.
"""

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from app.bootstrap import Services, bootstrap
from app.config import Settings, get_settings
from app.core.errors import AppError, ConflictError
from app.models import OrderStatus
from app.schemas.order import OrderCreate, OrderLineCreate
from app.schemas.product import ProductCreate
from app.schemas.user import UserCreate
from app.services.caller import Caller
from scripts import bulk_seed

DEMO_CUSTOMER = UserCreate(email="customer@example.com", password="customer-password-123", full_name="Demo Customer")


async def seed_demo() -> None:
    container = bootstrap()
    try:
        services = container.services
        try:
            await services.auth.register(DEMO_CUSTOMER)
            print("demo customer created")
        except ConflictError:
            print("demo customer already present")
        await _seed_demo_catalogue(services)
        await _seed_demo_orders(services, container.settings)
    finally:
        await container.close()


DEMO_PRODUCTS = [
    ProductCreate(
        sku="DEMO-MUG", name="Ceramic mug", description="350 ml, dishwasher safe.", price_cents=1200, stock=120
    ),
    ProductCreate(sku="DEMO-TEA", name="Green tea, 100 g", description="Loose leaf sencha.", price_cents=899, stock=80),
    ProductCreate(sku="DEMO-COFFEE", name="Coffee beans, 1 kg", price_cents=2450, stock=60),
    ProductCreate(sku="DEMO-NOTEBOOK", name="Dotted notebook A5", price_cents=1550, stock=200),
    ProductCreate(sku="DEMO-PEN", name="Fountain pen", description="Fine nib, refillable.", price_cents=3400, stock=40),
    ProductCreate(sku="DEMO-LAMP", name="Desk lamp", price_cents=4999, stock=25),
    ProductCreate(sku="DEMO-HEADPHONES", name="Wireless headphones", price_cents=12900, stock=15),
    ProductCreate(sku="DEMO-CABLE", name="USB-C cable, 2 m", price_cents=1299, stock=300),
    ProductCreate(sku="DEMO-BACKPACK", name="Canvas backpack", price_cents=7900, stock=30),
    ProductCreate(sku="DEMO-BOTTLE", name="Steel water bottle", price_cents=2199, stock=90),
    ProductCreate(sku="DEMO-PLANT", name="Desk plant (pothos)", price_cents=1800, stock=20),
    ProductCreate(sku="DEMO-CHARGER", name="65 W charger", price_cents=3900, stock=0),
]
# Lines by SKU. With a first admin configured, the first order is delivered and the second paid;
# the customer cancels the last one.
DEMO_ORDERS = [
    [("DEMO-MUG", 2), ("DEMO-TEA", 1)],
    [("DEMO-NOTEBOOK", 3), ("DEMO-PEN", 1)],
    [("DEMO-HEADPHONES", 1), ("DEMO-CABLE", 2)],
    [("DEMO-LAMP", 1)],
]


async def _seed_demo_catalogue(services: Services) -> None:
    created = 0
    for product in DEMO_PRODUCTS:
        try:
            await services.products.create_product(product)
            created += 1
        except ConflictError:
            pass
    print(f"demo products: {created} created, {len(DEMO_PRODUCTS) - created} already present")


async def _seed_demo_orders(services: Services, settings: Settings) -> None:
    """Place the demo orders once: skipped as soon as the demo customer has any order."""
    customer = await _sign_in(services, DEMO_CUSTOMER.email, DEMO_CUSTOMER.password)
    if (await services.orders.list_orders(customer, limit=1, cursor=None)).items:
        print("demo orders already present")
        return
    catalogue = await services.products.list_products(None, limit=100, cursor=None, q=None)
    ids = {product.sku: product.id for product in catalogue.items}
    placed = []
    for lines in DEMO_ORDERS:
        body = OrderCreate(items=[OrderLineCreate(product_id=ids[sku], quantity=quantity) for sku, quantity in lines])
        placed.append((await services.orders.place_order(customer, body)).order)
    await services.order_status.cancel_order(customer, placed[-1].id)
    admin = await _first_admin(services, settings)
    if admin is not None:
        for order, steps in ((placed[0], ("paid", "shipped", "delivered")), (placed[1], ("paid",))):
            for step in steps:
                await services.order_status.change_order_status(admin, order.id, OrderStatus(step))
    print(f"demo orders: {len(placed)} placed" + ("" if admin else " (set FIRST_ADMIN_* to also pay and ship some)"))


async def _first_admin(services: Services, settings: Settings) -> Caller | None:
    if not settings.first_admin_email or not settings.first_admin_password:
        return None
    try:
        admin = await _sign_in(services, settings.first_admin_email, settings.first_admin_password.get_secret_value())
    except AppError:  # not created yet (python -m app.db.init_db) or another password
        return None
    return admin if admin.is_admin else None


async def _sign_in(services: Services, email: str, password: str) -> Caller:
    """Log in and check the token, exactly as a client of the API would."""
    pair = await services.auth.login(username=email, password=password)
    return await services.auth.authenticate(access_token=pair.access_token)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="add the small demo data set (idempotent)")
    _add_bulk_arguments(parser)
    args = parser.parse_args()
    if args.demo:
        asyncio.run(seed_demo())
    if args.orders is not None:
        seed_bulk(args)
    return 0


def _add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    bulk = parser.add_argument_group("bulk data (after `alembic upgrade head`; same seed -> same data)")
    bulk.add_argument("--orders", type=_positive, metavar="N", help="generate N orders (enables bulk mode)")
    bulk.add_argument("--users", type=_positive, default=10_000, metavar="U", help="customers (default 10000)")
    bulk.add_argument("--products", type=_positive, default=1_000, metavar="P", help="products (default 1000)")
    bulk.add_argument("--days", type=_positive, default=365, metavar="D", help="spread over D days (default 365)")
    bulk.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    bulk.add_argument(
        "--until",
        type=_utc_datetime,
        metavar="ISO",
        help="end of the spread, exclusive (default: today 00:00 UTC; pin it for identical reruns on other days)",
    )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _utc_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def seed_bulk(args: argparse.Namespace) -> None:
    settings = get_settings()
    plan = bulk_seed.SeedPlan(
        users=args.users,
        products=args.products,
        orders=args.orders,
        days=args.days,
        seed=args.seed,
        until=args.until or bulk_seed.default_until(),
        currency=settings.currency,
    )
    print(f"bulk seed: {plan}", file=sys.stderr)
    try:
        timings = bulk_seed.seed(settings, plan)
    except bulk_seed.AlreadySeededError as exc:
        sys.exit(f"bulk seed: {exc}")
    print(", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items()))
    last = f"{plan.users - 1:07d}"
    print(f"customers log in as bulk-{plan.seed}-<0000000..{last}>@example.com / {bulk_seed.BULK_PASSWORD}")


if __name__ == "__main__":
    sys.exit(main())
