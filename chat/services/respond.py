"""Korean answer text for a dining turn (seed 003 §5.2 step 16): friendly, concrete (shop, menu,
price, walking time, card, coupon), and built only from what the recommender returned - so it can
never name a closed shop or a menu over budget."""

import datetime as dt
from dataclasses import dataclass, field

from chat.models import Intent, UserCouponWallet, UserStrategy
from chat.services.business_hours import SEOUL
from chat.services.coupons import CouponTerms
from chat.services.josa import attach
from chat.services.recommend import RecommendResult, ShopPick

RECOMMENDING_INTENTS = {
    Intent.FOOD_REQUEST,
    Intent.BUDGET_INQUIRY,
    Intent.LOCATION_INQUIRY,
    Intent.TIME_INQUIRY,
    Intent.MENU_OPTION,
    Intent.EMERGENCY_FOOD,
    Intent.GROUP_DINING,
}

ASK_LOCATION = "어디 근처에서 찾아볼까요? 동네나 역 이름을 알려주세요. (예: 건대입구역)"

ONBOARDING_QUESTIONS = (
    "어떤 음식을 좋아하세요? (예: 한식, 분식, 치킨)",
    "평소 한 끼 예산은 어느 정도인가요?",
    "매운 음식은 괜찮으세요?",
)


@dataclass
class TurnFacts:
    """Everything the answer may mention, decided before the text is written."""

    intent: str
    strategy: str
    entities: dict
    budget: int | None = None
    budget_capped_by_balance: bool = False
    group_size: int = 1
    group_total_budget: int | None = None
    result: RecommendResult | None = None
    location_known: bool = True
    visit_at: dt.datetime | None = None  # when the user means to eat, if not now
    now: dt.datetime | None = None  # when the message is answered
    no_money: bool = False  # "돈이 하나도 없어": lead with what costs nothing
    card: dict | None = None
    coupons: list[CouponTerms] = field(default_factory=list)
    issued: list[UserCouponWallet] = field(default_factory=list)
    emergency: UserCouponWallet | None = None
    conversation_style: str = "friendly"


def won(amount: int) -> str:
    return f"{amount:,}원"


def budget_phrase(amount: int) -> str:
    """5000 -> '5천원', 15000 -> '1만 5천원', 12500 -> '12,500원' (how people say it)."""
    if amount % 1000 == 0 and amount > 0:
        man, cheon = divmod(amount // 1000, 10)
        parts = []
        if man:
            parts.append(f"{man}만")
        if cheon:
            parts.append(f"{cheon}천")
        return " ".join(parts) + "원"
    return won(amount)


def distance_phrase(meters: int) -> str:
    return f"{meters / 1000:g}km" if meters >= 1000 else f"{meters}m"


def shop_line(rank: int, shop: ShopPick, group_size: int) -> str:
    details = []
    if shop.walking_minutes is not None:
        details.append(f"도보 {shop.walking_minutes}분")
    if shop.foodcard_usable:
        details.append("급식카드 가능")
    if shop.is_good_influence_shop:
        details.append("착한가게")
    head = f"{rank}. {shop.shop_name}" + (f" ({', '.join(details)})" if details else "")
    menus = []
    for menu in shop.menus[:2]:
        text = f"{menu.menu_name} {won(menu.price + menu.option_price)}"
        if menu.coupon_id and group_size == 1:
            text += f" → 쿠폰 적용 {won(menu.final_price)}"
        menus.append(text)
    line = f"{head} - {', '.join(menus)}"
    best = shop.best_menu
    if group_size > 1 and best.group_total is not None:
        coupon = f", 쿠폰 1장 {won(best.discount)} 할인 적용" if best.coupon_id else ""
        line += f" ({best.menu_name} × {group_size}명 {won(best.group_total)}{coupon})"
    return line


def visit_phrase(at: dt.datetime, now: dt.datetime) -> str:
    """The visit time as said to the user: '오늘 23:00', '내일 08:00' (Asia/Seoul)."""
    local = at.astimezone(SEOUL)
    day = "오늘" if local.date() == now.astimezone(SEOUL).date() else "내일"
    return f"{day} {local:%H:%M}"


def _header(facts: TurnFacts) -> str:
    meal = facts.entities.get("meal_time")
    meal_text = f" {meal}" if meal else ""
    food = facts.entities.get("food_type") or facts.entities.get("category")
    food_text = f" {food}" if food else ""
    if facts.group_size > 1:
        if facts.budget is not None:
            people = f"{facts.group_size}명이서 1인당 {budget_phrase(facts.budget)}"
            return f"{people} 안에서 먹을 수 있는{meal_text}{food_text} 추천드려요! 😊"
        return f"{facts.group_size}명이 함께 가기 좋은{meal_text}{food_text} 가게를 추천드려요! 😊"
    if facts.budget is not None:
        return f"{attach(budget_phrase(facts.budget), '으로')} 먹을 수 있는{meal_text}{food_text} 추천드려요! 😊"
    when = f"{facts.visit_at.astimezone(SEOUL):%H:%M}에 영업하는" if facts.visit_at else "지금 영업 중인"
    return f"{when}{meal_text}{food_text} 추천드려요! 😊"


def recommendation_text(facts: TurnFacts) -> list[str]:
    if not facts.location_known:
        return [ASK_LOCATION]  # one short question rather than shops of some distant area
    result = facts.result
    lines = []
    when = "지금"
    if facts.visit_at is not None:
        when = f"{visit_phrase(facts.visit_at, facts.now or facts.visit_at)}에"
        lines.append(f"{when} 문을 여는 곳으로 찾아봤어요.")
    if facts.budget_capped_by_balance and facts.card:
        lines.append(f"급식카드 잔액({won(facts.card['balance'])})에 맞춰 찾아봤어요.")
    if result is None or not result.found:
        where = ""
        if result is not None and result.radius_m:
            where = f"{distance_phrase(result.radius_m)} 안에서 "
        budget = f"{budget_phrase(facts.budget)} 이하로 " if facts.budget else ""
        lines.append(
            f"아쉽지만 {when} {where}{budget}먹을 수 있는 영업 중인 가게를 찾지 못했어요. "
            "예산을 조금 늘리거나 다른 음식을 말씀해 주시면 다시 찾아볼게요."
        )
        return lines
    if result.widened:
        first = result.filtering_steps["radius_steps"][0]["radius_m"]
        lines.append(
            f"{distance_phrase(first)} 안에는 조건에 맞는 곳이 없어서 "
            f"{distance_phrase(result.radius_m)}까지 넓혀서 찾아봤어요."
        )
    lines.append(_no_money_lead(facts) if facts.no_money else _header(facts))
    lines.extend(shop_line(shop.ranking, shop, facts.group_size) for shop in result.shops)
    if any(shop.applicable_coupons for shop in result.shops):
        lines.append("쿠폰은 지갑에 있는 것 중 가장 많이 할인되는 것으로 계산했어요.")
    return lines


def _no_money_lead(facts: TurnFacts) -> str:
    """What an emergency without money is offered first: free with a coupon, then the card balance,
    else (nothing free found) the cheapest meals."""
    if facts.result.filtering_steps.get("budget") is None:
        return "지금 돈 없이 먹을 수 있는 곳은 찾지 못해서, 가장 저렴한 곳부터 알려드릴게요."
    if not facts.budget:
        return "돈이 없어도 쿠폰으로 0원에 먹을 수 있는 곳부터 알려드릴게요."
    return f"현금 없이 급식카드 잔액({won(facts.budget)})과 쿠폰으로 먹을 수 있는 곳부터, 싼 순서로 알려드릴게요."


def _coupon_list(coupons: list[CouponTerms]) -> list[str]:
    if not coupons:
        return ["지금 쓸 수 있는 쿠폰이 없어요."]
    lines = [f"지금 쓸 수 있는 쿠폰이 {len(coupons)}장 있어요."]
    for terms in coupons:
        if terms.discount_rate is not None:
            value = f"{round(terms.discount_rate * 100)}% 할인"
            if terms.max_discount_amount:
                value += f", 최대 {won(terms.max_discount_amount)}"
        else:
            value = f"{won(terms.discount_amount or 0)} 할인"
        expires = terms.expires_at.astimezone(SEOUL).strftime("%m월 %d일 %H:%M")
        lines.append(f"- {terms.name} ({value}, {expires}까지)")
    return lines


def compose(facts: TurnFacts) -> str:
    lines: list[str] = []
    if facts.strategy == UserStrategy.ONBOARDING:
        lines.append("처음 오셨네요, 반가워요! 🎉")
        welcome = [entry for entry in facts.issued if entry.acquisition_source == "WELCOME_BONUS"]
        if welcome:
            names = ", ".join(entry.coupon.coupon_name for entry in welcome)
            lines.append(f"환영 선물로 {attach(names, '을')} 지갑에 넣어드렸어요.")
    if facts.emergency is not None:
        amount = facts.emergency.coupon.discount_amount or 0
        lines.append(
            f"급식카드 잔액이 부족해요! 긴급 식사 쿠폰({won(amount)} 할인)을 발급해드렸어요. 24시간 안에 사용해 주세요."
        )

    intent = facts.intent
    if intent in RECOMMENDING_INTENTS:
        lines.extend(recommendation_text(facts))
    elif intent == Intent.BALANCE_CHECK:
        if facts.card:
            lines.append(f"급식카드 잔액은 {attach(won(facts.card['balance']), '이에요')}.")
        else:
            lines.append("등록된 급식카드가 없어요. 카드를 등록하면 잔액에 맞춰 추천해 드릴게요.")
    elif intent == Intent.BALANCE_CHARGE:
        lines.append(
            "급식카드 충전은 카드를 발급한 지자체나 카드사에서 할 수 있어요. "
            "여기서는 지금 잔액으로 먹을 수 있는 곳을 찾아드릴게요!"
        )
    elif intent == Intent.COUPON_INQUIRY:
        lines.extend(_coupon_list(facts.coupons))
    elif facts.strategy != UserStrategy.ONBOARDING:
        if intent == Intent.GENERAL_CHAT:
            lines.append("안녕하세요! 배고플 때 언제든 말해 주세요. 예: '5천원으로 점심 뭐 먹지?'")
        else:
            lines.append(
                "잘 이해하지 못했어요. 예산이나 먹고 싶은 음식을 알려주시면 추천해 드릴게요. "
                "예: '만원으로 치킨 먹고 싶어'"
            )

    if facts.strategy == UserStrategy.ONBOARDING:
        lines.append("더 잘 맞춰 드리려면 몇 가지만 알려주세요:")
        lines.extend(f"- {question}" for question in ONBOARDING_QUESTIONS)
    if facts.conversation_style == "brief":
        lines = [line for line in lines if not line.startswith("쿠폰은 지갑에")]
    return "\n".join(lines)
