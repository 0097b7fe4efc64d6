"""Hand-written lexicon and morphology for the built-in English→Spanish sample corpus.

Every word list here was written for this project; nothing is downloaded or copied. Entries
are immutable dataclasses parsed from compact rows (rows separated by ";", fields by "|" or
spaces; each table's comment gives its row format). Spanish verbs are conjugated by rule
(regular -ar/-er/-ir) unless the explicit ``_IRREGULAR`` table overrides a form.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

TENSES = ("present", "past", "future")
# Person indexes used for conjugation.
FIRST_SG, SECOND_SG, THIRD_SG, FIRST_PL, THIRD_PL = range(5)


def _rows(text: str) -> list[str]:
    return [row.strip() for row in text.split(";") if row.strip()]


def _fields(text: str) -> list[list[str]]:
    return [[field.strip() for field in row.split("|")] for row in _rows(text)]


def _tags(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Regular endings by infinitive class, in person order 1sg, 2sg, 3sg, 1pl, 3pl.
_PRESENT = MappingProxyType(
    {"ar": ("o", "as", "a", "amos", "an"), "er": ("o", "es", "e", "emos", "en")}
    | {"ir": ("o", "es", "e", "imos", "en")}
)
_PAST = MappingProxyType(
    {"ar": ("é", "aste", "ó", "amos", "aron"), "er": ("í", "iste", "ió", "imos", "ieron")}
    | {"ir": ("í", "iste", "ió", "imos", "ieron")}
)
_FUTURE = ("é", "ás", "á", "emos", "án")
# "infinitive tense 1sg 2sg 3sg 1pl 3pl" ("-" keeps the regular form). The 1sg preterites of
# buscar/llegar/jugar only change spelling (c→qu, g→gu before é).
_IRREGULAR = tuple(
    tuple(row.split())
    for row in _rows(
        "cerrar present cierro cierras cierra - cierran;"
        "encontrar present encuentro encuentras encuentra - encuentran;"
        "jugar present juego juegas juega - juegan; jugar past jugué - - - -;"
        "dormir present duermo duermes duerme - duermen; dormir past - - durmió - durmieron;"
        "ver present veo ves ve vemos ven; ver past vi viste vio vimos vieron;"
        "ir present voy vas va vamos van; ir past fui fuiste fue fuimos fueron;"
        "buscar past busqué - - - -; llegar past llegué - - - -"
    )
)


@dataclass(frozen=True)
class Noun:
    """A noun with English and Spanish singular/plural forms (plural None: mass noun)."""

    en: str
    en_pl: str | None
    es: str
    es_pl: str | None
    gender: str
    tags: frozenset[str]

    @property
    def countable(self) -> bool:
        """Whether the noun has a plural and takes "a"."""
        return self.en_pl is not None


@dataclass(frozen=True)
class Adjective:
    """An adjective; ``es``/``es_pl`` are the masculine forms, feminine ones are derived."""

    en: str
    es: str
    es_pl: str
    tags: frozenset[str]

    def spanish(self, gender: str, plural: bool) -> str:
        """Return the Spanish form agreeing in gender and number."""
        if gender == "f" and self.es.endswith("o"):
            return self.es_pl[:-2] + "as" if plural else self.es[:-1] + "a"
        return self.es_pl if plural else self.es


@dataclass(frozen=True)
class Determiner:
    """A determiner; ``number`` is "sg", "pl" or "any"; forms are m.sg, f.sg, m.pl, f.pl."""

    en: str
    number: str
    forms: tuple[str, str, str, str]
    countable_only: bool = False

    def spanish(self, gender: str, plural: bool) -> str:
        """Return the Spanish form agreeing in gender and number."""
        return self.forms[(2 if plural else 0) + (1 if gender == "f" else 0)]


@dataclass(frozen=True)
class Pronoun:
    """A subject pronoun; ``es`` is empty when Spanish drops it (the verb shows the person)."""

    en: str
    es: str
    person: int


@dataclass(frozen=True)
class Prep:
    """A preposition and the noun tags it may govern."""

    en: str
    es: str
    tags: frozenset[str]


@dataclass(frozen=True)
class Adverb:
    """A sentence-final time adverbial and the tenses it is compatible with."""

    en: str
    es: str
    tenses: tuple[str, ...]


@dataclass(frozen=True)
class Verb:
    """A verb: English base/3sg/past forms, Spanish infinitive and selection restrictions."""

    en: tuple[str, str, str]
    es: str
    subjects: frozenset[str]
    objects: frozenset[str]
    preps: tuple[Prep, ...]
    needs_pp: bool = False

    def spanish(self, tense: str, person: int) -> str:
        """Conjugate the Spanish verb for a tense and person index (0..4)."""
        for infinitive, table_tense, *forms in _IRREGULAR:
            if (infinitive, table_tense) == (self.es, tense) and forms[person] != "-":
                return forms[person]
        if tense == "future":
            return self.es + _FUTURE[person]
        table = _PRESENT if tense == "present" else _PAST
        return self.es[:-2] + table[self.es[-2:]][person]


def _nouns(kind: str, text: str) -> tuple[Noun, ...]:
    nouns = []
    for row in _rows(text):
        english, spanish, gender, *extra = row.split()
        en, _, en_pl = english.partition("/")
        es, _, es_pl = spanish.partition("/")
        tags = _tags(kind) | frozenset(extra)
        nouns.append(Noun(en, en_pl or None, es, es_pl or None, gender, tags))
    return tuple(nouns)


# Per kind: "en_sg/en_pl es_sg/es_pl gender extra_tags..." (mass nouns: no "/plural").
NOUNS: tuple[Noun, ...] = (
    *_nouns(
        "person animate",
        "teacher/teachers profesor/profesores m; sister/sisters hermana/hermanas f;"
        "brother/brothers hermano/hermanos m; mother/mothers madre/madres f;"
        "father/fathers padre/padres m; friend/friends amigo/amigos m; girl/girls niña/niñas f;"
        "boy/boys niño/niños m; woman/women mujer/mujeres f; man/men hombre/hombres m;"
        "doctor/doctors médico/médicos m; neighbor/neighbors vecino/vecinos m;"
        "uncle/uncles tío/tíos m; aunt/aunts tía/tías f; baby/babies bebé/bebés m;"
        "king/kings rey/reyes m; queen/queens reina/reinas f",
    ),
    *_nouns(
        "animal animate",
        "cat/cats gato/gatos m; dog/dogs perro/perros m; horse/horses caballo/caballos m;"
        "bird/birds pájaro/pájaros m; cow/cows vaca/vacas f; duck/ducks pato/patos m;"
        "mouse/mice ratón/ratones m; rabbit/rabbits conejo/conejos m; bear/bears oso/osos m;"
        "lion/lions león/leones m",
    ),
    *_nouns(
        "food",
        "fish pescado m; bread pan m; rice arroz m; cheese queso m; soup sopa f; meat carne f;"
        "apple/apples manzana/manzanas f; egg/eggs huevo/huevos m; cake/cakes pastel/pasteles m;"
        "cookie/cookies galleta/galletas f",
    ),
    *_nouns("drink", "milk leche f; juice jugo m; coffee café m; tea té m"),
    *_nouns(
        "thing",
        "window/windows ventana/ventanas f open fragile wash paint;"
        "door/doors puerta/puertas f open paint; book/books libro/libros m open text carry;"
        "box/boxes caja/cajas f open container carry; bag/bags bolsa/bolsas f open container carry;"
        "bottle/bottles botella/botellas f open container fragile carry;"
        "cup/cups taza/tazas f container fragile wash carry; key/keys llave/llaves f carry;"
        "plate/plates plato/platos m fragile wash carry; map/maps mapa/mapas m carry;"
        "letter/letters carta/cartas f open text carry; ball/balls pelota/pelotas f toy carry;"
        "car/cars coche/coches m vehicle wash paint; bus/buses autobús/autobuses m vehicle wash;"
        "shirt/shirts camisa/camisas f wash carry; table/tables mesa/mesas f wash paint;"
        "chair/chairs silla/sillas f paint fragile carry; flower/flowers flor/flores f carry;"
        "picture/pictures cuadro/cuadros m paint carry",
    ),
    *_nouns(
        "idea",
        "song/songs canción/canciones f text sound; story/stories cuento/cuentos m text sound;"
        "lesson/lessons lección/lecciones f text",
    ),
    *_nouns(
        "place",
        "park/parks parque/parques m land; school/schools escuela/escuelas f land room;"
        "market/markets mercado/mercados m land; city/cities ciudad/ciudades f land;"
        "station/stations estación/estaciones f land; garden/gardens jardín/jardines m land room;"
        "church/churches iglesia/iglesias f land paint; store/stores tienda/tiendas f land;"
        "library/libraries biblioteca/bibliotecas f land; river/rivers río/ríos m water;"
        "hospital/hospitals hospital/hospitales m land; lake/lakes lago/lagos m water;"
        "sea/seas mar/mares m water; office/offices oficina/oficinas f land room paint;"
        "kitchen/kitchens cocina/cocinas f land room paint; village/villages pueblo/pueblos m land;"
        "street/streets calle/calles f land room; house/houses casa/casas f land room paint",
    ),
)


def _adjective(row: str) -> Adjective:
    en, spanish, *tags = row.split()
    es, es_pl = spanish.split("/")
    return Adjective(en, es, es_pl, frozenset(tags))


# "english es_masc_sg/es_masc_pl noun_tags..." (feminine forms are derived from -o).
ADJECTIVES: tuple[Adjective, ...] = tuple(
    _adjective(row)
    for row in _rows(
        "black negro/negros animal thing; white blanco/blancos animal thing place;"
        "red rojo/rojos thing; yellow amarillo/amarillos thing; green verde/verdes thing animal;"
        "blue azul/azules thing; brown marrón/marrones animal thing;"
        "old viejo/viejos person animal thing place; new nuevo/nuevos thing place idea;"
        "small pequeño/pequeños animate thing place; big grande/grandes animate thing place;"
        "tall alto/altos person; young joven/jóvenes animate; happy feliz/felices animate idea;"
        "sad triste/tristes animate idea; tired cansado/cansados animate;"
        "lazy perezoso/perezosos animate; strong fuerte/fuertes animate; rich rico/ricos person;"
        "poor pobre/pobres person; ugly feo/feos animate thing place;"
        "dirty sucio/sucios animate thing place; fresh fresco/frescos food drink;"
        "beautiful hermoso/hermosos animate thing place idea; hot caliente/calientes food drink;"
        "cold frío/fríos food drink; delicious delicioso/deliciosos food drink;"
        "empty vacío/vacíos container; full lleno/llenos container; broken roto/rotos fragile"
    )
)


# "english | number (sg, pl, any; sg* = countable nouns only) | es m.sg f.sg m.pl f.pl"
DETERMINERS: tuple[Determiner, ...] = tuple(
    Determiner(en, number.rstrip("*"), (m_sg, f_sg, m_pl, f_pl), number.endswith("*"))
    for en, number, forms in _fields(
        "the | any | el la los las; a | sg* | un una - -; some | pl | - - unos unas;"
        "my | any | mi mi mis mis; your | any | tu tu tus tus; his | any | su su sus sus;"
        "her | any | su su sus sus; our | any | nuestro nuestra nuestros nuestras;"
        "their | any | su su sus sus; this | sg | este esta - -; that | sg | ese esa - -;"
        "these | pl | - - estos estas; those | pl | - - esos esas; two | pl | - - dos dos;"
        "three | pl | - - tres tres; four | pl | - - cuatro cuatro"
    )
    for m_sg, f_sg, m_pl, f_pl in [forms.split()]
)

# "english | spanish (empty: dropped, the verb ending shows the person) | person index"
PRONOUNS: tuple[Pronoun, ...] = tuple(
    Pronoun(en, es, int(person))
    for en, es, person in _fields(
        "i | | 0; you | | 1; he | él | 2; she | ella | 2; we | | 3; they | ellos | 4"
    )
)

# "key | english | spanish | noun tags"
PREPS: MappingProxyType[str, Prep] = MappingProxyType(
    {
        key: Prep(en, es, _tags(tags))
        for key, en, es, tags in _fields(
            "to | to | a | place; at | at | a | place; from | from | de | place;"
            "in | in | en | land; in_water | in | en | water; near | near | cerca de | place;"
            "with | with | con | animate; for | for | para | person"
        )
    }
)

# "english | spanish | tenses"
ADVERBS: tuple[Adverb, ...] = tuple(
    Adverb(en, es, tuple(tenses.split()))
    for en, es, tenses in _fields(
        "yesterday | ayer | past; last night | anoche | past; tomorrow | mañana | future;"
        "next week | la próxima semana | future; every day | todos los días | present;"
        "every morning | todas las mañanas | present; today | hoy | present past future;"
        "at night | por la noche | present past future"
    )
)

# "base/3sg/past | infinitive | subject tags | object tags (none: intransitive) | prepositions"
# ("!" after the prepositions: the verb always takes a prepositional phrase).
VERBS: tuple[Verb, ...] = tuple(
    Verb(
        (base, third, past),
        es,
        _tags(subj),
        _tags(obj),
        tuple(PREPS[p] for p in preps.rstrip("!").split()),
        preps.endswith("!"),
    )
    for forms, es, subj, obj, preps in _fields(
        "eat/eats/ate | comer | animate | food | in near;"
        "drink/drinks/drank | beber | animate | drink | in;"
        "cook/cooks/cooked | cocinar | person | food | in for;"
        "buy/buys/bought | comprar | person | food drink carry | in for;"
        "open/opens/opened | abrir | person | open | ;"
        "close/closes/closed | cerrar | person | open | ;"
        "carry/carries/carried | llevar | person | carry | to;"
        "clean/cleans/cleaned | limpiar | person | wash room | for;"
        "wash/washes/washed | lavar | person | wash animal | in;"
        "paint/paints/painted | pintar | person | paint | for;"
        "watch/watches/watched | mirar | animate | animate vehicle | in;"
        "see/sees/saw | ver | animate | animate thing place | in;"
        "help/helps/helped | ayudar | animate | person | in;"
        "call/calls/called | llamar | person | animate | ;"
        "visit/visits/visited | visitar | person | person place | with;"
        "love/loves/loved | amar | animate | animate | ;"
        "look for/looks for/looked for | buscar | animate | animate carry food | in;"
        "wait for/waits for/waited for | esperar | person | person vehicle | in near;"
        "listen to/listens to/listened to | escuchar | animate | person sound | in;"
        "break/breaks/broke | romper | animate | fragile | in;"
        "write/writes/wrote | escribir | person | text | in for;"
        "catch/catches/caught | atrapar | animate | animal toy | in;"
        "find/finds/found | encontrar | animate | animate carry food | in near;"
        "need/needs/needed | necesitar | animate | person carry food drink | ;"
        "share/shares/shared | compartir | animate | food drink | with;"
        "walk/walks/walked | caminar | animate | | to from in near with;"
        "run/runs/ran | correr | animate | | to from in near with;"
        "live/lives/lived | vivir | animate | | in near with!;"
        "arrive/arrives/arrived | llegar | animate | | at from with;"
        "travel/travels/traveled | viajar | person | | to from with;"
        "swim/swims/swam | nadar | animate | | in_water near with;"
        "dance/dances/danced | bailar | person | | in with for;"
        "sing/sings/sang | cantar | animate | | in with for;"
        "work/works/worked | trabajar | person | | in near with for;"
        "sleep/sleeps/slept | dormir | animate | | in near with;"
        "go/goes/went | ir | animate | | to with!;"
        "return/returns/returned | regresar | animate | | to from with;"
        "study/studies/studied | estudiar | person | | in with for;"
        "talk/talks/talked | hablar | person | | in with;"
        "play/plays/played | jugar | animate | | in near with"
    )
    for base, third, past in [forms.split("/")]
)
