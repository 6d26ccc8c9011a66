"""The benchmark world: many synthetic Arabic article pages over several local hosts.

    with GeneratedWorld(n_articles=1000, n_hosts=10, latency_ms=20) as world:
        world.write_sources_yaml("bench-sources.yaml")
        ...                                   # ingest, measure

Article ``i`` lives on host ``i % n_hosts`` at ``/a/<YYYY-MM-DD>/story-<i>``; each host's feed
(``/rss.xml``) lists all of that host's articles. Pages use the second outlet's template
(JSON-LD headline/datePublished, h1, ~3 KB of body text in Arabic paragraphs), are built on
the fly from ``(seed, i)`` and cached; every page is distinct. Every request (pages, feed,
homepage, 404s) is answered after ``latency_ms``. All pages are SYNTHETIC.
"""

from __future__ import annotations

import functools
import html
import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .world import BASE_URL_TOKEN, FeedItem, Resource, Site, _wakalat_page, _World

__all__ = ["GeneratedWorld"]

_TIMEZONES = ["Asia/Beirut", "Africa/Cairo", "Asia/Riyadh", "Asia/Baghdad", "Asia/Amman"]
_OUTLETS = ["الأنباء", "المرصد", "الرائد", "الشروق الجديد", "صدى البلد", "النهار العربي", "الميدان", "الحدث", "الراية", "البوابة"]
_SECTIONS = ["سياسة", "اقتصاد", "دولي", "محليات", "ثقافة", "رياضة", "علوم", "صحة"]
_MONTHS = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]
_WEEKDAYS = ["الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]

_OPENERS = (
    "وقال", "وأكد", "وأشار", "وأضاف", "وأوضح", "كما أعلن", "ولفت", "وذكر", "وبحسب", "وفي هذا السياق قال",
    "من جهته أكد", "في المقابل رأى", "وتابع", "وشدد", "ونقلت وسائل إعلام عن",
)
_SUBJECTS = (
    "وزير الاقتصاد", "رئيس البلدية", "المتحدث باسم الحكومة", "مدير الهيئة العامة", "مسؤول في الوزارة",
    "رئيس اللجنة البرلمانية", "خبراء في القطاع", "مصدر مطلع", "رئيس الغرفة التجارية", "ممثل المنظمة الدولية",
    "محافظ البنك المركزي", "نقيب المهندسين", "مدير المستشفى", "رئيس الجامعة", "قائد الشرطة",
)
_NOUNS = (
    "المشروع", "الاتفاقية", "الموازنة", "الخطة", "المبادرة", "القطاع", "الأسواق", "الاستثمارات", "الصادرات",
    "المواطنين", "الحكومة", "البرلمان", "المنطقة", "المدينة", "الشركات", "المصانع", "الطرق", "المدارس",
    "المستشفيات", "الكهرباء", "المياه", "الزراعة", "السياحة", "الشباب", "الأسعار", "التضخم", "العملة",
    "الصحة", "التعليم", "النقل", "الموانئ", "الطاقة", "التجارة", "المفاوضات", "القمة", "اللجنة", "الدراسة",
    "التقرير", "البيانات", "الإصلاحات", "الخدمات", "المرحلة", "الأولويات", "التحديات", "الفرص", "الشراكة",
)
_VERBS = (
    "يهدف إلى", "يسهم في", "سيؤدي إلى", "يعزز", "يدعم", "يتطلب", "يشمل", "يواجه", "يعكس", "يفتح الباب أمام",
    "سيسمح بـ", "يحد من", "يرفع", "يخفض", "يطور", "يحسن", "يراجع", "يستهدف", "يضمن", "يوسع",
)
_ADJECTIVES = (
    "الجديدة", "الكبيرة", "المحلية", "الوطنية", "الإقليمية", "الدولية", "المقبلة", "الحالية", "الأساسية",
    "الاقتصادية", "الاجتماعية", "الرقمية", "المستدامة", "العامة", "الخاصة", "الأولى", "الثانية", "المشتركة",
)
_LINKS = ("في", "على", "من", "إلى", "مع", "خلال", "بعد", "قبل", "بين", "حول", "عبر", "ضمن", "لدى")
_PLACES = (
    "بيروت", "القاهرة", "عمّان", "بغداد", "الرياض", "دمشق", "تونس", "الرباط", "الجزائر", "الدوحة", "مسقط",
    "الكويت", "المنامة", "أبوظبي", "صنعاء", "الخرطوم", "طرابلس", "نواكشوط", "الإسكندرية", "حلب", "البصرة", "صفاقس",
)
_NUMBERS = ("عشرة ملايين", "عشرين مليون", "ثلاثين مليون", "خمسين مليون", "مئة مليون", "مليار", "ثلاثة مليارات", "خمسة ملايين", "سبعة ملايين")

_PATH_RE = re.compile(r"^/a/(\d{4}-\d{2}-\d{2})/story-(\d+)$")


def _sentence(rng: random.Random) -> str:
    parts = [rng.choice(_OPENERS), rng.choice(_SUBJECTS), "إن" if rng.random() < 0.5 else "أن"]
    parts += [rng.choice(_NOUNS), rng.choice(_ADJECTIVES), rng.choice(_VERBS)]
    for _ in range(rng.randint(1, 3)):
        parts += [rng.choice(_NOUNS), rng.choice(_ADJECTIVES)]
        if rng.random() < 0.2:
            parts += ["بنسبة", str(rng.randint(2, 95)), "في المئة"]
        elif rng.random() < 0.15:
            parts += ["بقيمة", rng.choice(_NUMBERS), "دولار"]
        parts.append(rng.choice(_LINKS))
        if rng.random() < 0.35:
            parts.append(rng.choice(_PLACES))
            parts.append("و" + rng.choice(_NOUNS))
    parts += [rng.choice(_NOUNS), rng.choice(_ADJECTIVES)]
    text = " ".join(parts).replace("بـ ", "بـ")
    if rng.random() < 0.4:  # an Arabic comma somewhere in the middle
        words = text.split(" ")
        cut = rng.randint(3, max(3, len(words) - 3))
        words[cut - 1] += "،"
        text = " ".join(words)
    return text + "."


class _GeneratedHost(Site):
    def __init__(self, world: "GeneratedWorld", host: int) -> None:
        tz = _TIMEZONES[host % len(_TIMEZONES)]
        name = f"gen-{host:02d}"
        super().__init__(
            name,
            title=_OUTLETS[host % len(_OUTLETS)] + f" {host}",
            description="موقع إخباري تجريبي مولَّد لقياس أداء akhbar",
            language="ar",
            timezone=tz,
            latency=world.latency_ms / 1000.0,
        )
        self.world = world
        self.host = host
        self.ids = range(host, world.n_articles, world.n_hosts)

    def feed_items(self) -> list[FeedItem]:
        out = [FeedItem(self.world.path(i), self.world.headline(i), self.world.published(i)) for i in self.ids]
        out.reverse()  # newest first
        return out

    def resolve(self, path: str) -> Resource | None:
        m = _PATH_RE.match(path)
        if m:
            i = int(m.group(2))
            if i < self.world.n_articles and i % self.world.n_hosts == self.host and self.world.path(i) == path:
                return self.world.page(i, self.base_url)
            return None
        return super().resolve(path)


class GeneratedWorld(_World):
    """n_articles synthetic but realistic Arabic article pages spread over n_hosts servers on
    127.0.0.1, each answering after latency_ms."""

    def __init__(self, n_articles: int = 1000, n_hosts: int = 10, latency_ms: float = 20.0, seed: int = 0) -> None:
        super().__init__()
        if n_hosts < 1 or n_articles < 0:
            raise ValueError("need n_hosts >= 1 and n_articles >= 0")
        self.n_articles = n_articles
        self.n_hosts = n_hosts
        self.latency_ms = latency_ms
        self.seed = seed
        self._base = datetime(2024, 4, 1, 6, 0)
        self.page = functools.lru_cache(maxsize=4096)(self._page)

    def __enter__(self) -> "GeneratedWorld":
        self.start()
        return self

    def _build_sites(self) -> list[Site]:
        return [_GeneratedHost(self, h) for h in range(self.n_hosts)]

    # -- the articles (pure functions of seed and index) -------------------------------------

    def _rng(self, i: int, what: str) -> random.Random:
        return random.Random(f"akhbar-generated:{self.seed}:{i}:{what}")

    def timezone(self, i: int) -> str:
        return _TIMEZONES[(i % self.n_hosts) % len(_TIMEZONES)]

    def published(self, i: int) -> datetime:
        naive = self._base + timedelta(minutes=7 * i + self._rng(i, "t").randint(0, 5))
        return naive.replace(tzinfo=ZoneInfo(self.timezone(i)))

    def path(self, i: int) -> str:
        return f"/a/{self.published(i).date().isoformat()}/story-{i}"

    def headline(self, i: int) -> str:
        rng = self._rng(i, "h")
        words = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_NOUNS), rng.choice(_ADJECTIVES)]
        words += [rng.choice(_LINKS), rng.choice(_PLACES)]
        return " ".join(words).replace("بـ ", "بـ")

    def paragraphs(self, i: int) -> list[str]:
        rng = self._rng(i, "b")
        paras: list[str] = []
        size = 0
        target = rng.randint(2800, 3400)  # bytes of UTF-8 body text
        while size < target:
            p = " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))
            paras.append(p)
            size += len(p.encode("utf-8"))
        return paras

    def _page(self, i: int, base_url: str) -> Resource:
        published = self.published(i)
        rng = self._rng(i, "p")
        section = rng.choice(_SECTIONS)
        headline = self.headline(i)
        paras = self.paragraphs(i)
        body = "\n".join(f"    <p>{html.escape(p)}</p>" for p in paras)
        related = []
        for j in (i - self.n_hosts, i + self.n_hosts):
            if 0 <= j < self.n_articles:
                pj = self.published(j)
                related.append((f"story-{j}", self.headline(j), pj.date().isoformat()))
        visible = (
            f"{_WEEKDAYS[published.weekday()]} {published.day} {_MONTHS[published.month - 1]} "
            f"{published.year} - {published:%H:%M}"
        )
        text = _wakalat_page(
            slug=f"story-{i}",
            headline=headline,
            description=paras[0][:150],
            section=section,
            published=published.isoformat(),
            visible_date=visible,
            body=body,
            credit="(وكالات)" if rng.random() < 0.3 else f"({_OUTLETS[(i % self.n_hosts) % len(_OUTLETS)]})",
            comment=f"SYNTHETIC: akhbar benchmark world, article {i} (seed {self.seed}). Not real news.",
            related=related,
        )
        return Resource(text.replace(BASE_URL_TOKEN, base_url).encode("utf-8"), last_modified=published)
