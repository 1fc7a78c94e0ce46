"""Shop and menu recommendations (seed 003 §5.2 steps 9-15).

1. Candidates: available menus whose final price (options + best wallet coupon) fits the budget, at
   shops open right now (business hours, breaks, holidays in Asia/Seoul), within a radius of the
   user (haversine; 1 km first, widened step by step when nothing is found), accepting the meal card
   (Y/P) when the user has an active card, of the requested category if any.
2. Score each shop with the seed's features: budget fit, distance, popularity, quality, profile
   preference (categories, favourites, the asked food), good-influence preference, and for groups
   whether the shop has enough affordable choices. Reason codes explain the score.
3. Diversify the top of the list with MMR and return the best five. A meal comes first: dessert
   cafés and convenience stores only follow the real meals unless they were asked for, and drinks,
   sides and desserts are never offered as a meal. `cheapest_first` (an emergency without money)
   orders by what the user pays instead.
4. With a learned re-ranker served for the user (ml_training registry), the hand-tuned top
   `RERANK_POOL` picks (steps 1-3) are reordered by its score, meals still first; it never adds a shop,
   so budget, open-now and meal-card stay hard filters. Without one the ranking is the hand-tuned one.

Group prices: the user's wallet holds one copy of each coupon and an order takes one coupon, so a
group order gets its best coupon once, on the whole order (`group_total`), not once per person.

Closed shops and over-budget menus never leave this module: the filters are applied to every
candidate, not only ranked down.
"""

import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from chat.models import FoodCardAcceptance, Menu, Shop, ShopCategory
from chat.models.dining import MenuCategory
from chat.services.business_hours import ShopStatus, status_at
from chat.services.coupons import CouponTerms, best_coupon
from chat.services.geo import Point, bounding_box, haversine_m, walking_minutes

RADIUS_STEPS_M = (1000, 2000, 3000, 5000)
TOP_K = 5
MENUS_PER_SHOP = 3
MMR_LAMBDA = 0.7
MMR_POOL = 30
RERANK_POOL = 10
GROUP_FRIENDLY = {
    ShopCategory.KOREAN,
    ShopCategory.CHINESE,
    ShopCategory.CHICKEN,
    ShopCategory.PIZZA,
    ShopCategory.SNACK,
}

WEIGHTS = {
    "budget_fit": 0.25,
    "distance": 0.25,
    "popularity": 0.15,
    "quality": 0.10,
    "preference": 0.15,
    "good_influence": 0.05,
    "group_fit": 0.05,
}
NEARBY_M = 500
POPULAR_MIN = 0.7
HIGH_QUALITY_MIN = 0.7

REASON_BUDGET_FIT = "BUDGET_FIT"
REASON_NEARBY = "NEARBY"
REASON_POPULAR = "POPULAR"
REASON_FOODCARD_OK = "FOODCARD_OK"
REASON_HIGH_QUALITY = "HIGH_QUALITY"
REASON_USER_PREFERENCE = "USER_PREFERENCE"

# Shops that are not where one has a meal, and menus that are not a meal, unless asked for.
NOT_A_MEAL_SHOPS = frozenset({ShopCategory.CAFE_DESSERT, ShopCategory.CONVENIENCE})
NOT_A_MEAL_MENUS = frozenset({MenuCategory.DRINK, MenuCategory.SIDE, MenuCategory.DESSERT})


@dataclass(frozen=True)
class RecommendQuery:
    budget: int | None = None  # per person, won
    location: Point | None = None
    category: str | None = None
    food_type: str | None = None
    has_active_card: bool = False
    companion_count: int = 1
    menu_options: tuple[str, ...] = ()
    preferred_categories: tuple[str, ...] = ()
    favorite_shops: tuple[int, ...] = ()
    good_influence_preference: float = 0.5
    coupons: tuple[CouponTerms, ...] = ()
    cheapest_first: bool = False
    radius_steps: tuple[int, ...] = RADIUS_STEPS_M
    limit: int = TOP_K


@dataclass
class MenuPick:
    menu_id: int
    menu_name: str
    price: int
    option_price: int
    final_price: int
    coupon_id: str | None
    discount: int
    is_popular: bool
    matches_food: bool
    has_options: bool
    group_total: int | None = None  # what the whole group pays, the coupon taken once

    def as_dict(self) -> dict:
        return {
            "menu_id": self.menu_id,
            "menu_name": self.menu_name,
            "price": self.price,
            "option_price": self.option_price,
            "final_price": self.final_price,
            "group_total": self.group_total,
            "coupon_id": self.coupon_id,
            "discount": self.discount,
            "is_available": True,
        }


@dataclass
class ShopPick:
    shop_id: int
    shop_name: str
    category: str
    address: str
    latitude: float
    longitude: float
    distance_m: int | None
    popularity: float
    quality: float
    is_good_influence_shop: bool
    food_card: str
    menus: list[MenuPick] = field(default_factory=list)
    affordable_menu_count: int = 0
    score: float = 0.0
    features: dict = field(default_factory=dict)
    reason_codes: list[str] = field(default_factory=list)
    ranking: int = 0
    model_score: float | None = None  # the served re-ranker's score; `score` stays the hand-tuned one

    @property
    def best_menu(self) -> MenuPick:
        return self.menus[0]

    @property
    def walking_minutes(self) -> int | None:
        return None if self.distance_m is None else walking_minutes(self.distance_m)

    @property
    def foodcard_usable(self) -> bool:
        return self.food_card in (FoodCardAcceptance.YES, FoodCardAcceptance.PARTIAL)

    @property
    def applicable_coupons(self) -> list[str]:
        return sorted({menu.coupon_id for menu in self.menus if menu.coupon_id})

    def as_dict(self) -> dict:
        return {
            "shop_id": self.shop_id,
            "shop_name": self.shop_name,
            "category": self.category,
            "address": self.address,
            "menus": [menu.as_dict() for menu in self.menus],
            "final_price": self.best_menu.final_price,
            "applicable_coupons": self.applicable_coupons,
            "distance": self.distance_m,
            "estimated_time": self.walking_minutes,
            "foodcard_usable": self.foodcard_usable,
            "is_good_influence_shop": self.is_good_influence_shop,
            "score": round(self.score, 3),
            "ranking": self.ranking,
            "reason_codes": self.reason_codes,
        }

    def log_dict(self) -> dict:
        """The recommendations_log JSON item (seed §4.3 schema)."""
        return {
            "shop_id": self.shop_id,
            "shop_name": self.shop_name,
            "score": round(self.score, 3),
            "ranking": self.ranking,
            "distance_meters": self.distance_m,
            "reason_codes": self.reason_codes,
            "menus": [
                {
                    "menu_id": m.menu_id,
                    "name": m.menu_name,
                    "price": m.price,
                    "final_price": m.final_price,
                    "coupon_id": m.coupon_id,
                    "is_available": True,
                }
                for m in self.menus
            ],
            "final_price": self.best_menu.final_price,
            "foodcard_usable": self.foodcard_usable,
            "features": {name: round(value, 3) for name, value in self.features.items()},
            **({"model_score": round(self.model_score, 4)} if self.model_score is not None else {}),
        }


@dataclass
class RecommendResult:
    shops: list[ShopPick]
    radius_m: int | None
    widened: bool
    total_candidates: int
    diversity_score: float | None
    filtering_steps: dict

    @property
    def found(self) -> bool:
        return bool(self.shops)


def option_surcharge(options: dict | None, wanted: tuple[str, ...]) -> tuple[int, bool]:
    """Extra won for the requested options (곱빼기, 치즈추가...) and whether the menu offers them all."""
    if not wanted:
        return 0, True
    extra, found = 0, 0
    for option_name in wanted:
        for items in (options or {}).values():
            match = next(
                (item for item in items if isinstance(item, dict) and option_name in str(item.get("name", ""))),
                None,
            )
            if match is not None:
                extra += int(match.get("price") or 0)
                found += 1
                break
    return extra, found == len(wanted)


def price_ceiling(query: RecommendQuery) -> int | None:
    """Highest list price that could still fit the budget after the best coupon (SQL prefilter)."""
    if query.budget is None:
        return None
    ceiling = query.budget
    for coupon in query.coupons:
        if coupon.discount_rate is not None and coupon.max_discount_amount is None:
            if coupon.discount_rate >= 1:
                return None
            ceiling = max(ceiling, math.floor(query.budget / (1 - coupon.discount_rate)))
        else:
            ceiling = max(ceiling, query.budget + (coupon.discount_amount or coupon.max_discount_amount or 0))
    return ceiling


# The shops in the search box with their available menus under the price ceiling, one row per shop. Written
# out as SQL because it runs on every dining turn and Django would compile the equivalent QuerySet (annotations,
# a correlated subquery, a dozen columns) each time: about 2-3 ms of CPU, three times what PostgreSQL needs to
# run it and send 100 shops. The menus come as one JSON array per shop, built by a correlated subquery served
# by the (shop_id, price) partial index on available menus, so shop columns and business hours are not
# repeated per menu (and are decoded once per shop); hours are parsed only for shops within the radius,
# menu options read only when asked for.
SHOP_ROWS_SQL = f"""
SELECT s.id, s.shop_name, s.category, s.address_name, s.road_address_name, s.latitude, s.longitude,
       s.business_hours::text, s.popularity_score, s.quality_score, s.is_good_influence_shop, s.is_food_card_shop,
       (SELECT jsonb_agg(jsonb_build_object('id', m.id, 'name', m.menu_name, 'price', m.price,
                                            'popular', m.is_popular, 'category', m.category{{options}})
                         ORDER BY m.price, m.id)
          FROM {Menu._meta.db_table} m
         WHERE m.is_available AND m.shop_id = s.id{{ceiling}})
  FROM {Shop._meta.db_table} s
 WHERE TRUE{{filters}}
 ORDER BY s.shop_name, s.id
"""
CARD_SHOPS = (FoodCardAcceptance.YES.value, FoodCardAcceptance.PARTIAL.value)
COORDINATE_PLACES = Decimal("0.00000001")  # shops.latitude/longitude are numeric(.., 8): compare as numeric


def _box(location, radius_m: int) -> list[Decimal]:
    """(min lat, max lat, min lng, max lng) around `location`, as the numeric columns compare them."""
    return [Decimal(edge).quantize(COORDINATE_PLACES) for edge in bounding_box(location, radius_m)]


LATITUDE, LONGITUDE = 5, 6  # positions in a _shop_rows row


def _rows_by_radius(query: RecommendQuery, radii: tuple[int | None, ...]):
    """(radius, its shop rows) for each radius in turn, as the caller widens the search. The first radius
    has a query of its own (it usually finds shops); the wider ones share ONE query of the widest box and
    each takes the rows inside its own box from it: at most two queries, and fewer rows than one query
    per radius (the boxes nest)."""
    yield radii[0], _shop_rows(query, radii[0])
    if len(radii) > 1:
        widest = _shop_rows(query, max(radii[1:]))
        for radius in radii[1:]:
            min_lat, max_lat, min_lng, max_lng = _box(query.location, radius)
            yield radius, [
                row for row in widest if min_lat <= row[LATITUDE] <= max_lat and min_lng <= row[LONGITUDE] <= max_lng
            ]


def _shop_rows(query: RecommendQuery, radius_m: int | None) -> list[tuple]:
    """(id, name, category, address, road address, lat, lng, hours JSON text, popularity, quality, good
    influence, food card acceptance, menus JSON text or None) per shop: SHOP_ROWS_SQL with its filters."""
    filters, params = [], {}
    if query.location is not None and radius_m is not None:
        box = _box(query.location, radius_m)
        filters.append(" AND s.latitude BETWEEN %(min_lat)s AND %(max_lat)s")
        filters.append(" AND s.longitude BETWEEN %(min_lng)s AND %(max_lng)s")
        params.update(zip(("min_lat", "max_lat", "min_lng", "max_lng"), box, strict=True))
    if query.has_active_card:
        filters.append(" AND s.is_food_card_shop = ANY(%(card_shops)s)")
        params["card_shops"] = list(CARD_SHOPS)
    if query.category:
        filters.append(" AND s.category = %(category)s")
        params["category"] = query.category
    ceiling = price_ceiling(query)
    if ceiling is not None:
        params["ceiling"] = ceiling
    sql = SHOP_ROWS_SQL.format(
        options=", 'options', m.options" if query.menu_options else "",
        ceiling=" AND m.price <= %(ceiling)s" if ceiling is not None else "",
        filters="".join(filters),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _collect(
    query: RecommendQuery, radius_m: int | None, rows: list[tuple], now: datetime, steps: dict
) -> list[ShopPick]:
    result: list[ShopPick] = []
    counts = {"shops_in_box": 0, "outside_radius": 0, "closed_shops": 0, "menus": 0, "over_budget_menus": 0}
    coupons = list(query.coupons)
    for (
        shop_id,
        shop_name,
        category,
        address,
        road_address,
        lat,
        lng,
        hours_text,
        popularity,
        quality,
        good,
        food_card,
        menu_list,
    ) in rows:
        counts["shops_in_box"] += 1
        if not menu_list:
            continue
        distance = None
        if query.location is not None:
            distance = haversine_m(query.location.latitude, query.location.longitude, float(lat), float(lng))
            if radius_m is not None and distance > radius_m:
                counts["outside_radius"] += 1
                continue
        if status_at(json.loads(hours_text) if hours_text else None, now) != ShopStatus.OPEN:
            counts["closed_shops"] += 1
            continue
        menu_list = json.loads(menu_list)  # parsed only for the open shops inside the circle
        picks = []
        for menu in menu_list:
            counts["menus"] += 1
            name = menu["name"]
            matches_food = bool(query.food_type) and (query.food_type in name or query.food_type in category)
            if menu["category"] in NOT_A_MEAL_MENUS and not (
                query.category == ShopCategory.CAFE_DESSERT or (query.food_type and query.food_type in name)
            ):
                continue  # a drink, a side or a dessert is not a meal
            extra, has_options = option_surcharge(menu.get("options"), query.menu_options)
            list_price = menu["price"] + extra
            people = max(1, query.companion_count)
            coupon, discount = best_coupon(
                coupons,
                shop_id=shop_id,
                category=category,
                food_card=food_card,
                amount=list_price * people,
                has_card=query.has_active_card,
            )
            group_total = list_price * people - discount if people > 1 else None
            final = -(-group_total // people) if group_total is not None else list_price - discount
            if query.budget is not None and final > query.budget:
                counts["over_budget_menus"] += 1
                continue
            picks.append(
                MenuPick(
                    menu["id"],
                    name,
                    menu["price"],
                    extra,
                    final,
                    coupon.coupon_id if coupon else None,
                    discount,
                    menu["popular"],
                    matches_food,
                    has_options,
                    group_total,
                )
            )
        if not picks:
            continue
        if query.cheapest_first:
            picks.sort(key=lambda m: (m.final_price, not m.matches_food, not m.is_popular))
        else:
            picks.sort(key=lambda m: (not m.matches_food, not m.has_options, not m.is_popular, -m.final_price))
        result.append(
            ShopPick(
                shop_id=shop_id,
                shop_name=shop_name,
                category=category,
                address=road_address or address,
                latitude=float(lat),
                longitude=float(lng),
                distance_m=None if distance is None else round(distance),
                popularity=float(popularity or 0),
                quality=float(quality or 0),
                is_good_influence_shop=good,
                food_card=food_card,
                menus=picks[:MENUS_PER_SHOP],
                affordable_menu_count=len(picks),
            )
        )
    steps.update({**counts, "candidate_shops": len(result)})
    return result


def score_shop(shop: ShopPick, query: RecommendQuery, radius_m: int | None) -> None:
    """Fill shop.features, shop.score (0..1) and shop.reason_codes."""
    menu = shop.best_menu
    # Using about 80% of the budget is the sweet spot; much less is fine, more never gets here.
    budget_fit = max(0.0, 1 - abs(0.8 * query.budget - menu.final_price) / query.budget) if query.budget else 0.5
    distance = max(0.0, 1 - shop.distance_m / radius_m) if shop.distance_m is not None and radius_m else 0.5
    category_liked = shop.category in query.preferred_categories
    favourite = shop.shop_id in query.favorite_shops
    asked_food = any(m.matches_food for m in shop.menus) or (query.category == shop.category)
    options_ok = bool(query.menu_options) and menu.has_options
    preference = 1.0 if (favourite or asked_food or options_ok) else 0.7 if category_liked else 0.0
    good = query.good_influence_preference if shop.is_good_influence_shop else 0.0
    if query.companion_count > 1:
        choices = min(1.0, shop.affordable_menu_count / min(query.companion_count, MENUS_PER_SHOP))
        group_fit = 0.5 * choices + 0.5 * (1.0 if shop.category in GROUP_FRIENDLY else 0.0)
    else:
        group_fit = 1.0
    shop.features = {
        "budget_fit": budget_fit,
        "distance": distance,
        "popularity": shop.popularity,
        "quality": shop.quality,
        "preference": preference,
        "good_influence": good,
        "group_fit": group_fit,
    }
    shop.score = min(1.0, sum(WEIGHTS[name] * value for name, value in shop.features.items()))
    reasons = []
    if query.budget is not None:
        reasons.append(REASON_BUDGET_FIT)
    if shop.distance_m is not None and shop.distance_m <= NEARBY_M:
        reasons.append(REASON_NEARBY)
    if shop.popularity >= POPULAR_MIN:
        reasons.append(REASON_POPULAR)
    if shop.foodcard_usable:
        reasons.append(REASON_FOODCARD_OK)
    if shop.quality >= HIGH_QUALITY_MIN:
        reasons.append(REASON_HIGH_QUALITY)
    if category_liked or favourite:
        reasons.append(REASON_USER_PREFERENCE)
    shop.reason_codes = reasons


def similarity(a: ShopPick, b: ShopPick) -> float:
    """How alike two picks are for MMR: same category dominates, then a similar price."""
    same_category = 1.0 if a.category == b.category else 0.0
    pa, pb = a.best_menu.final_price, b.best_menu.final_price
    price = 1 - abs(pa - pb) / max(pa, pb, 1)
    return 0.7 * same_category + 0.3 * price


def mmr(shops: list[ShopPick], k: int, lambda_: float = MMR_LAMBDA) -> list[ShopPick]:
    """Maximal marginal relevance: trade score against similarity to what is already chosen."""
    pool = sorted(shops, key=lambda s: (-s.score, s.distance_m or 0, s.shop_id))[:MMR_POOL]
    chosen: list[ShopPick] = []
    while pool and len(chosen) < k:
        best = max(
            pool,
            key=lambda s: lambda_ * s.score - (1 - lambda_) * max((similarity(s, c) for c in chosen), default=0.0),
        )
        chosen.append(best)
        pool.remove(best)
    return chosen


def after_meals(shop: ShopPick, query: RecommendQuery) -> bool:
    """A café or convenience store, which follows the real meals unless such a shop was asked for."""
    return shop.category in NOT_A_MEAL_SHOPS and query.category not in NOT_A_MEAL_SHOPS


def answer_order(shops: list[ShopPick], query: RecommendQuery) -> list[ShopPick]:
    """The picks in answer order: meals before cafés and convenience stores (unless those were asked
    for), each part diversified by MMR, or ordered by price for `cheapest_first`."""
    parts = [[s for s in shops if not after_meals(s, query)], [s for s in shops if after_meals(s, query)]]
    chosen: list[ShopPick] = []
    for part in parts:
        room = query.limit - len(chosen)
        if query.cheapest_first:
            chosen += sorted(part, key=lambda s: (s.best_menu.final_price, -s.score, s.shop_id))[:room]
        else:
            chosen += mmr(part, room)
    return chosen


def rerank(pool: list[ShopPick], query: RecommendQuery, reranker) -> list[ShopPick]:
    """`pool` (the hand-tuned top picks, in order) reordered by `reranker.scores(feature rows)`, meals
    still before cafés; ties keep the hand-tuned order."""
    scores = reranker.scores([{**shop.features, "score": shop.score} for shop in pool])
    for shop, value in zip(pool, scores, strict=True):
        shop.model_score = float(value)
    return sorted(pool, key=lambda s: (after_meals(s, query), -s.model_score))[: query.limit]


def diversity(shops: list[ShopPick]) -> float | None:
    pairs = [(a, b) for i, a in enumerate(shops) for b in shops[i + 1 :]]
    if not pairs:
        return None
    return 1 - sum(similarity(a, b) for a, b in pairs) / len(pairs)


def recommend(query: RecommendQuery, now: datetime | None = None, *, reranker=None) -> RecommendResult:
    """`reranker`: the learned model serving this user (ml_training), None for the hand-tuned ranking."""
    now = now or timezone.now()
    radii: tuple[int | None, ...] = query.radius_steps if query.location is not None else (None,)
    tried = []
    candidates: list[ShopPick] = []
    steps: dict = {}
    radius = None
    for radius, rows in _rows_by_radius(query, radii):
        step: dict = {"radius_m": radius}
        candidates = _collect(query, radius, rows, now, step)
        tried.append(step)
        if candidates:
            break
    for shop in candidates:
        score_shop(shop, query, radius)
    if reranker is not None and not query.cheapest_first:  # "what costs nothing" stays ordered by price
        chosen = rerank(answer_order(candidates, replace(query, limit=max(RERANK_POOL, query.limit))), query, reranker)
    else:
        chosen = answer_order(candidates, query)
    for rank, shop in enumerate(chosen, start=1):
        shop.ranking = rank
    steps = {
        "budget": query.budget,
        "category": query.category,
        "food_card_only": query.has_active_card,
        "price_ceiling": price_ceiling(query),
        "radius_steps": tried,
    }
    return RecommendResult(
        shops=chosen,
        radius_m=radius,
        widened=query.location is not None and radius != radii[0] and bool(candidates),
        total_candidates=len(candidates),
        diversity_score=diversity(chosen),
        filtering_steps=steps,
    )
