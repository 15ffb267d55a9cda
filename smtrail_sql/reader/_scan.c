/* smtrail_sql.reader._scan: the usual CloudTrail log file read into the reader's lists in one pass, in C.

   scan(data, account, region, day) -> tuple | None

   The typed path of smtrail_sql/reader/decode.py (msgspec structs, then the columns in Python) gives the lists
   of a usual file; this gives the very same lists (equal values of equal types, the points packed) for the
   files it takes, with no Python object a point (a metric-heavy bench file: 0.47 ms, where the typed path
   takes 1.0 ms and its lists 0.1 ms more to build), and None for any other file, which the Python paths then
   read. It takes a file only when it can prove that the typed path would read it typed and how; everything
   else is declined, never guessed:

   - text that is not ASCII, a control character in a string, JSON that is not strictly valid, nesting deeper
     than MAX_DEPTH, a number with more than 18 integer digits or 2 exponent digits;
   - an escape of an ASCII letter (\u0040-\u007f: a key or a name could be spelt with it), a surrogate escape,
     and any \u escape in a value that is kept;
   - a key that matches one of the structs' fields in another case, or twice (the rules match keys in any case;
     msgspec keeps the last of two);
   - a field whose type the structs would refuse (a point that is not an object, a step that is not an integer,
     userIdentity that is not an object...): the typed path would read that file generically;
   - a metric call that the typed columns cannot hold (decode.py's columnar: no eventID, requestParameters that
     is text, a caller that is not text...), or as many quoted event names in the bytes as named records.

   The tuple: (events, typed, calls, points), the calls and the points packed in buffers that Arrow and numpy
   take as they are: ``calls`` (see smtrail_sql.reader.lists.PackedCalls) is (size, point_counts, call_points,
   event_millis, texts), ``texts`` a (codes, ends, texts) for each of TEXT_COLUMNS; ``points`` (see
   PackedPoints) is (size, names, codes, values, value_valid, steps, step_valid, time_kinds, time_numbers,
   text_ends, texts). A MemoryError is raised as Python raises it.

   SOURCE_DIGEST, given by the build, is the CRC-32 of this file (8 hex digits): smtrail_sql.reader.native refuses a module
   built from another text. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef SCAN_SOURCE_DIGEST
#define SCAN_SOURCE_DIGEST ""
#endif

#define METRICS_EVENT_NAME "BatchPutMetrics"
#define METRICS_EVENT_SOURCE "metrics-sagemaker.amazonaws.com"
#define TRIAL_COMPONENT_RESOURCE_TYPE "AWS::SageMaker::ExperimentTrialComponent"
#define MAX_DEPTH 64
#define MAX_NUMBER 64

enum { OK = 0, DECLINE = 1, FAIL = -1 };
#define TRY(call) do { int _tried = (call); if (_tried != OK) return _tried; } while (0)

/* A JSON value as the scan saw it: its kind and, for a string, its raw text (between the quotes). */
enum { T_ABSENT = 0, T_NULL, T_STRING, T_NUMBER, T_OTHER };

typedef struct {
    const unsigned char *start; /* a string's text, a number's characters */
    Py_ssize_t length;
    unsigned char kind;
    unsigned char escaped;   /* a string holding a backslash */
    unsigned char unicode;   /* a string holding a \u escape */
    unsigned char integer;   /* a number without fraction or exponent */
} Token;

typedef struct {
    Token name, timestamp, step, value;
} PointTokens;

typedef struct {
    Token type, ARN, arn;
} ResourceTokens;

typedef struct {
    void *items;
    Py_ssize_t used, room, size;
} Stack;

/* The keys of one kind of object (a record, a point...) as this file gave them at each place: a log's records
   have their keys in the same order, record after record, so that a key is mostly the one seen at its place
   before, told by one comparison. Speed trick: scanning each key and finding its field took a quarter of the
   scan (callgrind). */
#define KNOWN_KEYS 32
#define KNOWN_WAYS 2 /* (the keys last seen at a place: records of two services, one after the other) */
typedef struct {
    const unsigned char *text[KNOWN_KEYS][KNOWN_WAYS]; /* a plain key's text in the data (NULL: none yet) */
    Py_ssize_t length[KNOWN_KEYS][KNOWN_WAYS];
    int field[KNOWN_KEYS][KNOWN_WAYS]; /* its field (see field_of) */
} KnownKeys;
enum { K_LOG, K_EVENT, K_IDENTITY, K_PARAMETERS, K_POINT, K_RESOURCE, KINDS };

/* ``end`` is where the data's terminating NUL is (scan takes bytes only, which have one): a look at *p, p at
   most end, is always safe, and at the end sees a byte that no token has, so that a test of one byte needs no
   test of the end first. Every longer look is bounded by end. */
typedef struct {
    const unsigned char *p, *end;
    int depth;
    Py_ssize_t quoted; /* the bytes "BatchPutMetrics" with its quotes, as the Python path counts them */
    Stack points, resources;
    KnownKeys keys[KINDS];
} Scanner;

/* ---- growing arrays ------------------------------------------------------------------------------------- */

static void *stack_push(Stack *stack) {
    if (stack->used == stack->room) {
        Py_ssize_t room = stack->room ? stack->room * 2 : 256;
        void *items = PyMem_Realloc(stack->items, (size_t)(room * stack->size));
        if (items == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        stack->items = items;
        stack->room = room;
    }
    return (char *)stack->items + stack->size * stack->used++;
}

/* ---- the JSON grammar ----------------------------------------------------------------------------------- */

static inline void skip_space(Scanner *s) {
    if (*s->p > ' ') /* (the usual log has no space between its tokens) */
        return;
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Whether the next byte is c (not NUL: at the end, the terminator is seen). */
static inline int at(const Scanner *s, unsigned char c) {
    return *s->p == c;
}

/* The first quote, backslash, control character or non-ASCII byte at or after p (end when none). */
/* What find_special stopped at. */
enum { AT_QUOTE, AT_BACKSLASH, AT_OTHER };

/* The first quote, backslash, control character or non-ASCII byte at or after *p (end when none), and which
   it is: the usual string's end is told from the masks, with no second look at the byte. */
static inline int find_special(const unsigned char **at, const unsigned char *end) {
    const unsigned char *p = *at;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i chunk = _mm_loadu_si128((const __m128i *)p);
        unsigned quotes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote));
        /* (signed: a byte of 0x80 or more is negative, so below the space too) */
        unsigned others = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(chunk, backslash),
                                                                   _mm_cmplt_epi8(chunk, space)));
        if (quotes | others) {
            unsigned first = (quotes | others) & (0u - (quotes | others));
            *at = p + __builtin_ctz(first);
            return quotes & first ? AT_QUOTE : **at == '\\' ? AT_BACKSLASH : AT_OTHER;
        }
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80)
        p++;
    *at = p;
    return p < end && *p == '"' ? AT_QUOTE : p < end && *p == '\\' ? AT_BACKSLASH : AT_OTHER;
}

static inline int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The bytes "\u00" then 4-7 at p, as decode._holds_letter_escape searches the raw bytes for them. */
static inline int letter_escape_at(const unsigned char *p, const unsigned char *end) {
    return end - p >= 5 && p[0] == 'u' && p[1] == '0' && p[2] == '0' && p[3] >= '4' && p[3] <= '7';
}

/* The rest of a string from its first backslash at *at: past each escape (validated) to the closing quote,
   *at then there. Kept out of scan_string, which is inlined where it is used: few strings have escapes. */
static int __attribute__((noinline)) string_escapes(Token *token, const unsigned char **at,
                                                    const unsigned char *end) {
    const unsigned char *p = *at;
    token->escaped = 1;
    for (;;) { /* (p at a backslash) */
        if (end - p < 2)
            return DECLINE;
        switch (p[1]) {
        case '\\':
            if (letter_escape_at(p + 2, end)) /* (the Python path's search sees "\u00.." here too) */
                return DECLINE;
            /* fall through */
        case '"': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u': {
            if (end - p < 6 || letter_escape_at(p + 1, end))
                return DECLINE;
            int a = hex_value(p[2]), b = hex_value(p[3]), c = hex_value(p[4]), d = hex_value(p[5]);
            if ((a | b | c | d) < 0)
                return DECLINE;
            int code = (a << 12) | (b << 8) | (c << 4) | d;
            if (code >= 0xD800 && code <= 0xDFFF)
                return DECLINE;
            token->unicode = 1;
            p += 6;
            break;
        }
        default:
            return DECLINE;
        }
        int found = find_special(&p, end);
        if (found == AT_QUOTE) {
            *at = p;
            return OK;
        }
        if (found == AT_OTHER) /* (the end of the data, a control character, a byte that is not ASCII) */
            return DECLINE;
    }
}

/* The string at s->p (its opening quote) into ``token``, s->p then past its closing quote. Inlined where it is
   used (a log is mostly strings: a call each cost about a fifth of the scan). */
static inline __attribute__((always_inline)) int scan_string(Scanner *s, Token *token) {
    const unsigned char *p = s->p + 1, *end = s->end;
    token->kind = T_STRING;
    token->start = p;
    token->escaped = token->unicode = 0;
    int found = find_special(&p, end);
    if (found != AT_QUOTE) {
        if (found == AT_OTHER) /* (the end of the data, a control character, a byte that is not ASCII) */
            return DECLINE;
        TRY(string_escapes(token, &p, end));
    }
    token->length = p - token->start;
    s->p = p + 1;
    /* the quoted event name ends this string: as the whole string, or after an escaped quote */
    static const char name[] = METRICS_EVENT_NAME;
    const Py_ssize_t n = (Py_ssize_t)sizeof(name) - 1;
    if (token->length >= n && p[-1] == 's' && memcmp(p - n, name, (size_t)n) == 0
        && (token->length == n || p[-n - 1] == '"'))
        s->quoted++;
    return OK;
}

static int scan_number(Scanner *s, Token *token) {
    const unsigned char *p = s->p, *end = s->end, *digits;
    token->kind = T_NUMBER;
    token->start = p;
    token->integer = 1;
    if (p < end && *p == '-')
        p++;
    digits = p;
    if (p < end && *p == '0')
        p++;
    else if (p < end && *p >= '1' && *p <= '9')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    else
        return DECLINE;
    if (p - digits > 18)
        return DECLINE;
    if (p < end && *p == '.') {
        token->integer = 0;
        p++;
        digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return DECLINE;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        token->integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits || p - digits > 2)
            return DECLINE;
    }
    token->length = p - token->start;
    if (token->length > MAX_NUMBER)
        return DECLINE;
    s->p = p;
    return OK;
}

static int scan_literal(Scanner *s, Token *token, const char *word, size_t length, unsigned char kind) {
    if ((size_t)(s->end - s->p) < length || memcmp(s->p, word, length) != 0)
        return DECLINE;
    s->p += length;
    token->kind = kind;
    return OK;
}

static int scan_value(Scanner *s, Token *token);

/* ---- containers: the steps every object and array share ------------------------------------------------ */

/* Into the container at s->p (its opening character); 1 in *empty for one closed at once. */
static int open_container(Scanner *s, unsigned char close, int *empty) {
    if (++s->depth > MAX_DEPTH)
        return DECLINE;
    s->p++;
    skip_space(s);
    *empty = *s->p == close;
    if (*empty) {
        s->p++;
        s->depth--;
    }
    return OK;
}

/* Past a member's colon, s->p then at its value. */
static inline int past_colon(Scanner *s) {
    skip_space(s);
    if (*s->p != ':')
        return DECLINE;
    s->p++;
    skip_space(s);
    return OK;
}

/* A member's key and its colon, s->p then at the value. */
static int scan_key(Scanner *s, Token *key) {
    if (*s->p != '"')
        return DECLINE;
    TRY(scan_string(s, key));
    return past_colon(s);
}

/* After a member or an element: past its comma (0 in *closed) or the container's end (1 in *closed). */
static int next_item(Scanner *s, unsigned char close, int *closed) {
    skip_space(s);
    *closed = *s->p == close;
    if (*closed) {
        s->p++;
        s->depth--;
        return OK;
    }
    if (*s->p != ',')
        return DECLINE;
    s->p++;
    skip_space(s);
    return OK;
}

/* Past a value that is kept nowhere, validated all the same. Speed trick: its own loop, without scan_object's
   and scan_array's calls through a pointer for each member (most of a log is skipped: userIdentity's session,
   responseElements, tlsDetails, other services' parameters). */
static int skip_value(Scanner *s) {
    Token ignored;
    int done;
    unsigned char open = *s->p;
    if (open != '{' && open != '[')
        return scan_value(s, &ignored);
    unsigned char close = open == '{' ? '}' : ']';
    TRY(open_container(s, close, &done));
    while (!done) {
        if (open == '{')
            TRY(scan_key(s, &ignored));
        TRY(skip_value(s));
        TRY(next_item(s, close, &done));
    }
    return OK;
}

/* Calls each(s, index, argument) with s->p at each element of the array at s->p; the number of elements. */
typedef int (*ElementVisitor)(Scanner *s, Py_ssize_t index, void *argument);

static int scan_array(Scanner *s, ElementVisitor each, void *argument, Py_ssize_t *count) {
    Py_ssize_t index = 0;
    int done;
    TRY(open_container(s, ']', &done));
    while (!done) {
        TRY(each(s, index++, argument));
        TRY(next_item(s, ']', &done));
    }
    *count = index;
    return OK;
}

static int scan_value(Scanner *s, Token *token) {
    switch (*s->p) { /* (at the end, NUL: a number's scan declines it) */
    case '"':
        return scan_string(s, token);
    case '{':
    case '[':
        token->kind = T_OTHER;
        return skip_value(s);
    case 't':
        return scan_literal(s, token, "true", 4, T_OTHER);
    case 'f':
        return scan_literal(s, token, "false", 5, T_OTHER);
    case 'n':
        return scan_literal(s, token, "null", 4, T_NULL);
    default:
        return scan_number(s, token);
    }
}

/* ---- keys ----------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    Py_ssize_t length;
} Field;

#define FIELD(text) {text, (Py_ssize_t)sizeof(text) - 1}

/* The fields of a struct, and for each key signature (see signature_of) those that could have it, each name in
   words of 8 bytes padded with zeros. Speed trick: a key is compared with the one or two fields of its length
   and first and last letters, a word at a time, not with each field a byte at a time. */
#define NAME_WORDS 4 /* (the longest field, digestPublicKeyFingerprint, has 26 letters) */

typedef struct {
    const Field *fields;
    int count;
    int kind; /* its object's KnownKeys in the Scanner */
    uint32_t candidates[64];
    uint64_t words[32][NAME_WORDS];
    uint64_t last_mask[32]; /* which bytes of the name's last word are the name's */
} FieldSet;

/* The structs' field sets, filled once as the module is loaded (exec_module). */
static FieldSet POINT_SET, PARAMETER_SET, IDENTITY_SET, RESOURCE_SET, EVENT_SET, LOG_SET;

/* The same for a key and for that key in any other case. */
static inline unsigned signature_of(const unsigned char *text, Py_ssize_t length) {
    return ((unsigned)length * 7u + (text[0] | 0x20u) * 3u + (text[length - 1] | 0x20u)) & 63u;
}

static void field_set_init(FieldSet *set, const Field *fields, int count, int kind) {
    memset(set, 0, sizeof *set);
    set->fields = fields;
    set->count = count;
    set->kind = kind;
    for (int i = 0; i < count; i++) {
        set->candidates[signature_of((const unsigned char *)fields[i].name, fields[i].length)] |= 1u << i;
        memcpy(set->words[i], fields[i].name, (size_t)fields[i].length);
        unsigned char mask[8] = {0};
        memset(mask, 0xff, (size_t)(fields[i].length - 8 * ((fields[i].length - 1) / 8)));
        memcpy(&set->last_mask[i], mask, 8);
    }
}

/* -1 for a key that names no field in any case; else as field_of, a byte at a time (a key spelt with escapes:
   -2 as soon as a field has its raw length and first letter in any case, as it could be spelt that way). */
static int field_by_bytes(const Token *key, const FieldSet *set) {
    for (int i = 0; i < set->count; i++) {
        const Field *field = &set->fields[i];
        if (field->length != key->length || ((field->name[0] ^ key->start[0]) & ~0x20))
            continue;
        if (memcmp(field->name, key->start, (size_t)key->length) == 0)
            return i;
        if (key->escaped || PyOS_strnicmp(field->name, (const char *)key->start, key->length) == 0)
            return -2;
    }
    return -1;
}

/* The index of the field ``key`` names exactly; -1 for a key that names none in any case; DECLINE's
   -2 for a key that names one in another case (or is spelt with escapes that could). The fields are taken in
   their order. The names are letters only: a byte that differs from a name's by 0x20 alone is that letter in
   the other case. ``end``: the end of the data, up to which the key's words may be read. */
static inline int field_of(const Token *key, const FieldSet *set, const unsigned char *end) {
    const Py_ssize_t length = key->length;
    if (length == 0)
        return -1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ /* (the mask keeps a word's first bytes) */
    if (key->escaped || length > 8 * NAME_WORDS || end - key->start < length + 7)
        return field_by_bytes(key, set);
    uint32_t candidates = set->candidates[signature_of(key->start, length)];
    if (candidates == 0)
        return -1;
    const uint64_t CASE = UINT64_C(0x2020202020202020);
    do {
        int index = __builtin_ctz(candidates);
        candidates &= candidates - 1;
        if (set->fields[index].length != length)
            continue;
        const uint64_t *name = set->words[index];
        uint64_t word, x, differ = 0, other = 0;
        Py_ssize_t at = 0;
        for (; at + 8 < length; at += 8, name++) {
            memcpy(&word, key->start + at, 8);
            x = word ^ *name;
            differ |= x;
            other |= x & ~CASE;
        }
        memcpy(&word, key->start + at, 8);
        x = (word & set->last_mask[index]) ^ *name; /* (the bytes after the key: not compared) */
        differ |= x;
        other |= x & ~CASE;
        if (other == 0)
            return differ ? -2 : index;
    } while (candidates);
    return -1;
#else
    (void)end;
    return field_by_bytes(key, set);
#endif
}

static int seen_once(unsigned *seen, int field) {
    if (*seen & (1u << field))
        return DECLINE; /* twice: msgspec keeps the last, the rules the first */
    *seen |= 1u << field;
    return OK;
}

/* A member's field (see field_of) seen once, or its value skipped when its key names no field. */
static int member_field(Scanner *s, int field, unsigned *seen) {
    if (field == -2)
        return DECLINE;
    if (field < 0)
        return skip_value(s);
    return seen_once(seen, field);
}

/* Whether the ``length`` bytes at a and b are the same: a word at a time (a key is short: memcmp's call cost
   more than the comparison). */
static inline int same_bytes(const unsigned char *a, const unsigned char *b, Py_ssize_t length) {
    uint64_t x, y;
    if (length >= 8) {
        for (Py_ssize_t at = 0; at + 8 < length; at += 8) {
            memcpy(&x, a + at, 8);
            memcpy(&y, b + at, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + length - 8, 8); /* (the last word, overlapping the one before) */
        memcpy(&y, b + length - 8, 8);
        return x == y;
    }
    uint32_t u = 0, v = 0, w = 0, z = 0;
    if (length >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        memcpy(&w, a + length - 4, 4);
        memcpy(&z, b + length - 4, 4);
        return u == v && w == z;
    }
    for (Py_ssize_t at = 0; at < length; at++)
        if (a[at] != b[at])
            return 0;
    return 1;
}

/* Whether the key at s->p is the known one at ``at``: then it is in ``key``, s->p past it. (A known key is a
   plain one, scanned before: no backslash, no quote, nothing scan_string declines or counts; the same bytes
   then a quote are that very string.) */
static inline int known_key(Scanner *s, const KnownKeys *known, int at, int way, Token *key) {
    const unsigned char *p = s->p;
    Py_ssize_t length = known->length[at][way];
    if (known->text[at][way] == NULL || s->end - p < length + 2 || p[0] != '"' || p[length + 1] != '"'
        || !same_bytes(p + 1, known->text[at][way], length))
        return 0;
    key->kind = T_STRING;
    key->start = p + 1;
    key->length = length;
    key->escaped = key->unicode = 0;
    s->p = p + length + 2;
    return 1;
}

/* Calls each(s, key, field, argument) with s->p at each value of the object at s->p, ``field`` what its key
   names among ``set`` (see field_of); each must pass the value. */
typedef int (*MemberVisitor)(Scanner *s, const Token *key, int field, void *argument);

static int scan_object(Scanner *s, const FieldSet *set, MemberVisitor each, void *argument) {
    KnownKeys *known = &s->keys[set->kind];
    Token key;
    int done, field;
    TRY(open_container(s, '}', &done));
    for (int at = 0; !done; at++) {
        if (at < KNOWN_KEYS && known_key(s, known, at, 0, &key)) {
            field = known->field[at][0];
            TRY(past_colon(s));
        } else if (at < KNOWN_KEYS && known_key(s, known, at, 1, &key)) {
            field = known->field[at][1];
            TRY(past_colon(s));
        } else {
            Py_ssize_t quoted = s->quoted;
            TRY(scan_key(s, &key));
            field = field_of(&key, set, s->end);
            if (at < KNOWN_KEYS && !key.escaped && s->quoted == quoted) { /* (the newest first) */
                known->text[at][1] = known->text[at][0];
                known->length[at][1] = known->length[at][0];
                known->field[at][1] = known->field[at][0];
                known->text[at][0] = key.start;
                known->length[at][0] = key.length;
                known->field[at][0] = field;
            }
        }
        TRY(each(s, &key, field, argument));
        TRY(next_item(s, '}', &done));
    }
    return OK;
}

/* ---- the structs of shapes.py --------------------------------------------------------------------------- */

static const Field POINT_FIELDS[] = {FIELD("metricName"), FIELD("timestamp"), FIELD("step"), FIELD("value")};

typedef struct {
    PointTokens *point;
    unsigned seen;
} PointScan;

static int point_member(Scanner *s, const Token *key, int field, void *argument) {
    PointScan *scan = argument;
    (void)key;
    TRY(member_field(s, field, &scan->seen));
    if (field < 0)
        return OK;
    Token *token = field == 0 ? &scan->point->name : field == 1 ? &scan->point->timestamp
                 : field == 2 ? &scan->point->step : &scan->point->value;
    TRY(scan_value(s, token));
    switch (field) { /* Point's types: str | None, float | str | None, int | None, float | None */
    case 0:
        return token->kind == T_STRING || token->kind == T_NULL ? OK : DECLINE;
    case 1:
        return token->kind == T_OTHER ? DECLINE : OK;
    case 2:
        return token->kind == T_NULL || (token->kind == T_NUMBER && token->integer) ? OK : DECLINE;
    default:
        return token->kind == T_NULL || token->kind == T_NUMBER ? OK : DECLINE;
    }
}

/* An array element that must be an object (a point, a resource): a new cleared item for its tokens on
   ``stack``, in *item. */
static int element_item(Scanner *s, Stack *stack, void **item) {
    if (!at(s, '{'))
        return DECLINE;
    if ((*item = stack_push(stack)) == NULL)
        return FAIL;
    memset(*item, 0, (size_t)stack->size);
    return OK;
}

static int point_element(Scanner *s, Py_ssize_t index, void *argument) {
    PointScan scan = {NULL, 0};
    (void)index;
    (void)argument;
    TRY(element_item(s, &s->points, (void **)&scan.point));
    return scan_object(s, &POINT_SET, point_member, &scan);
}

static const Field PARAMETER_FIELDS[] = {FIELD("trialComponentName"), FIELD("metricData")};

typedef struct {
    Token component;
    Py_ssize_t point_count; /* -1: no array of points */
    unsigned seen;
} ParametersScan;

static int parameters_member(Scanner *s, const Token *key, int field, void *argument) {
    ParametersScan *scan = argument;
    (void)key;
    TRY(member_field(s, field, &scan->seen));
    if (field < 0)
        return OK;
    if (field == 0)
        return scan_value(s, &scan->component);
    if (at(s, '['))
        return scan_array(s, point_element, NULL, &scan->point_count);
    Token token;
    TRY(scan_value(s, &token));
    return token.kind == T_NULL ? OK : DECLINE; /* list[Point] | None */
}

static const Field IDENTITY_FIELDS[] = {FIELD("arn")};

static int identity_member(Scanner *s, const Token *key, int field, void *argument) {
    Token *arn = argument;
    (void)key;
    if (field == -2)
        return DECLINE;
    if (field < 0)
        return skip_value(s);
    if (arn->kind != T_ABSENT)
        return DECLINE;
    TRY(scan_value(s, arn));
    if (arn->kind == T_ABSENT) /* (never: a value has a kind; kept so that twice is seen) */
        return DECLINE;
    return OK;
}

static const Field RESOURCE_FIELDS[] = {FIELD("type"), FIELD("ARN"), FIELD("arn")};

typedef struct {
    ResourceTokens *resource;
    unsigned seen;
} ResourceScan;

static int resource_member(Scanner *s, const Token *key, int field, void *argument) {
    ResourceScan *scan = argument;
    if (field == -2) { /* (ARN and arn are both fields: one is the other in another case, "Arn" either) */
        if (key->length == 3 && !key->escaped) /* "ARN" compared with "arn" first, or the other way round */
            field = memcmp(key->start, "ARN", 3) == 0 ? 1 : memcmp(key->start, "arn", 3) == 0 ? 2 : -2;
        if (field == -2)
            return DECLINE;
    }
    if (field < 0)
        return skip_value(s);
    TRY(seen_once(&scan->seen, field));
    Token *token = field == 0 ? &scan->resource->type : field == 1 ? &scan->resource->ARN : &scan->resource->arn;
    return scan_value(s, token);
}

static int resource_element(Scanner *s, Py_ssize_t index, void *argument) {
    ResourceScan scan = {NULL, 0};
    (void)index;
    (void)argument;
    TRY(element_item(s, &s->resources, (void **)&scan.resource));
    return scan_object(s, &RESOURCE_SET, resource_member, &scan);
}

enum {
    E_SOURCE, E_NAME, E_TIME, E_ID, E_REGION, E_ACCOUNT, E_CODE, E_MESSAGE, E_AGENT, E_IP, E_IDENTITY, E_PARAMETERS,
    E_RESOURCES, EVENT_FIELD_COUNT
};
static const Field EVENT_FIELDS[] = {
    FIELD("eventSource"), FIELD("eventName"), FIELD("eventTime"), FIELD("eventID"), FIELD("awsRegion"),
    FIELD("recipientAccountId"), FIELD("errorCode"), FIELD("errorMessage"), FIELD("userAgent"),
    FIELD("sourceIPAddress"), FIELD("userIdentity"), FIELD("requestParameters"), FIELD("resources"),
};

typedef struct {
    Token fields[EVENT_FIELD_COUNT]; /* the scalar fields; userIdentity's arn at E_IDENTITY */
    unsigned char identity, parameters, resources; /* T_ABSENT, T_NULL, T_STRING (parameters) or T_OTHER */
    ParametersScan inside;
    Py_ssize_t resource_count;
    unsigned seen;
} EventScan;

static int event_member(Scanner *s, const Token *key, int field, void *argument) {
    EventScan *event = argument;
    Token token;
    (void)key;
    TRY(member_field(s, field, &event->seen));
    if (field < 0)
        return OK;
    switch (field) {
    case E_IDENTITY: /* Identity | None */
        if (at(s, '{')) {
            event->identity = T_OTHER;
            return scan_object(s, &IDENTITY_SET, identity_member, &event->fields[E_IDENTITY]);
        }
        TRY(scan_value(s, &token));
        event->identity = token.kind;
        return token.kind == T_NULL ? OK : DECLINE;
    case E_PARAMETERS: /* RequestParameters | str | None */
        if (at(s, '{')) {
            event->parameters = T_OTHER;
            return scan_object(s, &PARAMETER_SET, parameters_member, &event->inside);
        }
        TRY(scan_value(s, &token));
        event->parameters = token.kind;
        return token.kind == T_NULL || token.kind == T_STRING ? OK : DECLINE;
    case E_RESOURCES: /* list[Resource] | None */
        if (at(s, '[')) {
            event->resources = T_OTHER;
            return scan_array(s, resource_element, NULL, &event->resource_count);
        }
        TRY(scan_value(s, &token));
        event->resources = token.kind;
        return token.kind == T_NULL ? OK : DECLINE;
    default:
        return scan_value(s, &event->fields[field]);
    }
}

/* ---- Python values -------------------------------------------------------------------------------------- */

static inline int equals_text(const Token *token, const char *text, Py_ssize_t length) {
    return token->kind == T_STRING && !token->escaped && token->length == length
           && same_bytes(token->start, (const unsigned char *)text, length);
}

/* Whether the token is the string ``text``, a literal. */
#define equals(token, text) equals_text(token, text, (Py_ssize_t)sizeof(text) - 1)

/* The integer of a token of at most 18 digits (checked by scan_number). */
static long long integer_of(const Token *token) {
    const unsigned char *p = token->start, *end = p + token->length;
    int negative = *p == '-';
    long long integer = 0;
    for (p += negative; p < end; p++)
        integer = integer * 10 + (*p - '0');
    return negative ? -integer : integer;
}

/* 10^0 to 10^22: every one exactly a double. */
static const double POWERS_OF_TEN[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
                                       1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A number token as the nearest double, as msgspec reads it into a float: an integer as the integer, then as a
   float; a fraction correctly rounded. Speed trick (Clinger's fast path): digits that make an integer up to
   2^53, scaled by a power of ten up to 10^22, are one exact division or product, rounded once: correctly;
   anything else goes to Python's own correctly rounded conversion. */
static int number_of(const Token *token, double *result) {
    if (token->integer) {
        *result = (double)integer_of(token);
        return OK;
    }
    const unsigned char *p = token->start, *end = p + token->length;
    int negative = *p == '-', exponent = 0, digits = 0, scale = 0, exponent_negative = 0;
    uint64_t mantissa = 0;
    for (p += negative; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            scale = 1;
            continue;
        }
        if (mantissa == 0 && *p == '0') { /* (leading zeros are not digits of the mantissa) */
            exponent -= scale;
            continue;
        }
        if (++digits > 19) /* (19 digits always fit in 64 bits) */
            break;
        mantissa = mantissa * 10 + (uint64_t)(*p - '0');
        exponent -= scale;
    }
    if (digits <= 19 && mantissa <= (UINT64_C(1) << 53)) {
        int stated = 0;
        if (p < end) { /* an exponent of at most two digits (scan_number) */
            p++;
            if (*p == '+' || *p == '-')
                exponent_negative = *p++ == '-';
            for (; p < end; p++)
                stated = stated * 10 + (*p - '0');
        }
        exponent += exponent_negative ? -stated : stated;
        if (mantissa == 0) {
            *result = negative ? -0.0 : 0.0;
            return OK;
        }
        if (exponent >= -22 && exponent <= 22) {
            double value = (double)mantissa;
            value = exponent < 0 ? value / POWERS_OF_TEN[-exponent] : value * POWERS_OF_TEN[exponent];
            *result = negative ? -value : value;
            return OK;
        }
    }
    char text[MAX_NUMBER + 1];
    memcpy(text, token->start, (size_t)token->length);
    text[token->length] = '\0';
    *result = PyOS_string_to_double(text, NULL, NULL);
    if (*result == -1.0 && PyErr_Occurred())
        return FAIL;
    return OK;
}

/* ---- buffers and text columns, packed ---------------------------------------------------------------- */

/* A growing byte buffer. */
typedef struct {
    char *data;
    Py_ssize_t used, room;
} Buffer;

/* Room for ``size`` more bytes. */
static int __attribute__((noinline)) buffer_reserve(Buffer *buffer, Py_ssize_t size) {
    if (buffer->used + size > buffer->room) {
        Py_ssize_t room = buffer->room ? buffer->room : 4096;
        while (room < buffer->used + size)
            room *= 2;
        char *data = PyMem_Realloc(buffer->data, (size_t)room);
        if (data == NULL) {
            PyErr_NoMemory();
            return FAIL;
        }
        buffer->data = data;
        buffer->room = room;
    }
    return OK;
}

/* Inlined where it is used (a few values a point, each a copy of a size known there: a store, not a call). */
static inline int buffer_add(Buffer *buffer, const void *bytes, Py_ssize_t size) {
    if (size == 0)
        return OK;
    if (buffer->used + size > buffer->room)
        TRY(buffer_reserve(buffer, size));
    memcpy(buffer->data + buffer->used, bytes, (size_t)size);
    buffer->used += size;
    return OK;
}

/* A string token's text, escapes decoded (none of them \u: the caller declined those), added to ``buffer``. */
static int buffer_add_text(Buffer *buffer, const Token *token) {
    if (!token->escaped)
        return buffer_add(buffer, token->start, token->length);
    TRY(buffer_reserve(buffer, token->length));
    unsigned char *out = (unsigned char *)buffer->data + buffer->used;
    for (Py_ssize_t i = 0; i < token->length; i++) {
        unsigned char c = token->start[i];
        if (c == '\\') {
            c = token->start[++i];
            c = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
        }
        *out++ = c;
    }
    buffer->used = (char *)out - buffer->data;
    return OK;
}

static PyObject *buffer_bytes(const Buffer *buffer) {
    return PyBytes_FromStringAndSize(buffer->data ? buffer->data : "", buffer->used);
}

/* A hash of text, a word of 8 bytes at a time. */
static uint64_t hash_bytes(const unsigned char *bytes, Py_ssize_t size) {
    uint64_t hash = UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)size, word;
    for (; size >= 8; bytes += 8, size -= 8) {
        memcpy(&word, bytes, 8);
        hash = (hash ^ word) * UINT64_C(0xff51afd7ed558ccd);
        hash ^= hash >> 32;
    }
    word = 0;
    if (size > 0) /* (an empty text may have no bytes at all: NULL) */
        memcpy(&word, bytes, (size_t)size);
    hash = (hash ^ word) * UINT64_C(0xc4ceb9fe1a85ec53);
    return hash ^ (hash >> 29);
}

/* A text column (of the calls, or the points' metric names): ``codes`` (int32 a row) each row's entry, -1 for
   None; ``ends`` (int32 an entry) where each entry's text, escapes decoded, ends in ``texts``. */
typedef struct {
    Buffer codes, ends, texts;
    Py_ssize_t count;
    Py_ssize_t *slots, room; /* a shared column's entries by their text: open addressing, entry + 1, 0 free */
} TextColumn;

/* The column's texts from ``start`` on ("" while it has none: no arithmetic on a NULL pointer). */
static inline const char *text_at(const TextColumn *column, Py_ssize_t start) {
    return column->texts.data != NULL ? column->texts.data + start : "";
}

static inline Py_ssize_t entry_start(const TextColumn *column, Py_ssize_t entry) {
    return entry ? ((const int32_t *)column->ends.data)[entry - 1] : 0;
}

static int text_column_grow(TextColumn *column) {
    Py_ssize_t room = column->room ? column->room * 2 : 64;
    Py_ssize_t *slots = PyMem_Calloc((size_t)room, sizeof *slots);
    if (slots == NULL) {
        PyErr_NoMemory();
        return FAIL;
    }
    for (Py_ssize_t entry = 0; entry < column->count; entry++) {
        Py_ssize_t start = entry_start(column, entry), end = ((const int32_t *)column->ends.data)[entry];
        uint64_t at = hash_bytes((const unsigned char *)text_at(column, start), end - start) & (uint64_t)(room - 1);
        while (slots[at])
            at = (at + 1) & (uint64_t)(room - 1);
        slots[at] = entry + 1;
    }
    PyMem_Free(column->slots);
    column->slots = slots;
    column->room = room;
    return OK;
}

/* The entry of a shared column whose text is ``text``, in *entry, or -1 with *at the free slot for it. */
static int text_column_find(TextColumn *column, const char *text, Py_ssize_t length, uint64_t *at,
                            Py_ssize_t *entry) {
    if (2 * (column->count + 1) > column->room)
        TRY(text_column_grow(column));
    const uint64_t mask = (uint64_t)(column->room - 1);
    for (*at = hash_bytes((const unsigned char *)text, length) & mask; column->slots[*at]; *at = (*at + 1) & mask) {
        Py_ssize_t found = column->slots[*at] - 1, from = entry_start(column, found);
        if (((const int32_t *)column->ends.data)[found] - from == length
            && (length == 0 || memcmp(column->texts.data + from, text, (size_t)length) == 0)) {
            *entry = found;
            return OK;
        }
    }
    *entry = -1;
    return OK;
}

/* A new entry, whose text ends the column's texts (in slot ``at`` of a shared column). */
static int text_column_new(TextColumn *column, int shared, uint64_t at, int32_t *code) {
    if (column->texts.used > INT32_MAX || column->count >= INT32_MAX)
        return DECLINE;
    int32_t end = (int32_t)column->texts.used;
    *code = (int32_t)column->count++;
    if (shared)
        column->slots[at] = column->count;
    return buffer_add(&column->ends, &end, sizeof end);
}

/* The entry of the text just added at ``start`` of the column's texts: a new one, or for a shared column the
   one of the same text if there is one (the text added is then taken back). */
static int text_column_entry(TextColumn *column, int shared, Py_ssize_t start, int32_t *code) {
    uint64_t at = 0;
    Py_ssize_t entry = -1;
    if (shared) {
        TRY(text_column_find(column, text_at(column, start), column->texts.used - start, &at, &entry));
        if (entry >= 0) {
            column->texts.used = start; /* (a text seen before: its first copy serves) */
            *code = (int32_t)entry;
            return OK;
        }
    }
    return text_column_new(column, shared, at, code);
}

/* A row's value of a text column: None for null or absent; DECLINE for any other kind than a string or a
   string with a \u escape (a kept value: the typed path's text would be decoded from it). A plain string seen
   before is found from the data itself, without a copy. */
static int text_column_add(TextColumn *column, int shared, const Token *token) {
    int32_t code = -1;
    if (token->kind != T_ABSENT && token->kind != T_NULL) {
        if (token->kind != T_STRING || token->unicode)
            return DECLINE;
        if (shared && !token->escaped) {
            uint64_t at;
            Py_ssize_t entry;
            TRY(text_column_find(column, (const char *)token->start, token->length, &at, &entry));
            if (entry >= 0)
                code = (int32_t)entry;
            else {
                TRY(buffer_add(&column->texts, token->start, token->length));
                TRY(text_column_new(column, 1, at, &code));
            }
        } else {
            Py_ssize_t start = column->texts.used;
            TRY(buffer_add_text(&column->texts, token));
            TRY(text_column_entry(column, shared, start, &code));
        }
    }
    return buffer_add(&column->codes, &code, sizeof code);
}

static void text_column_release(TextColumn *column) {
    PyMem_Free(column->codes.data);
    PyMem_Free(column->ends.data);
    PyMem_Free(column->texts.data);
    PyMem_Free(column->slots);
}

/* (codes, ends, texts) */
static PyObject *text_column_tuple(const TextColumn *column) {
    typedef PyObject *(*Converter)(void *);
    Converter bytes_of = (Converter)buffer_bytes;
    return Py_BuildValue("(O&O&O&)", bytes_of, &column->codes, bytes_of, &column->ends, bytes_of, &column->texts);
}

/* ---- times ---------------------------------------------------------------------------------------------- */

#define MIN_MILLIS INT64_C(-62135596800000) /* 0001-01-01 (smtrail_sql.reader.rules) */
#define MAX_MILLIS INT64_C(253402300800000) /* 10000-01-01 */
#define NO_MILLIS INT64_MIN /* a time not in CloudTrail's form (or none): the time rule decides, in Python */

static inline int digit_at(const unsigned char *text, int at) {
    return text[at] >= '0' && text[at] <= '9' ? text[at] - '0' : -1;
}

/* The epoch milliseconds of a time in CloudTrail's own form, YYYY-MM-DDTHH:MM:SSZ, or with milliseconds,
   ...SS.fffZ ('T' or a space between date and time), checked as smtrail_sql.reader.vectorised.text_millis
   checks them: a real date and time, within the rule's years. 0 for any other text (the time rule then decides,
   in Python). Speed trick: every eventTime, and the SDKs' text timestamps, are in this form. */
static int fast_time(const unsigned char *text, Py_ssize_t length, int64_t *millis) {
    static const int DIGITS[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    static const int MONTH_DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int d[14], fraction = 0;
    if (length != 20 && length != 24)
        return 0;
    for (int i = 0; i < 14; i++)
        if ((d[i] = digit_at(text, DIGITS[i])) < 0)
            return 0;
    if (text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':' || (text[10] != 'T' && text[10] != ' ')
        || text[length - 1] != 'Z')
        return 0;
    if (length == 24) {
        int a = digit_at(text, 20), b = digit_at(text, 21), c = digit_at(text, 22);
        if (text[19] != '.' || a < 0 || b < 0 || c < 0)
            return 0;
        fraction = a * 100 + b * 10 + c;
    }
    int64_t year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
    int month = d[4] * 10 + d[5], day = d[6] * 10 + d[7], hour = d[8] * 10 + d[9], minute = d[10] * 10 + d[11];
    int second = d[12] * 10 + d[13];
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (month < 1 || month > 12 || day < 1 || day > MONTH_DAYS[month - 1] + (month == 2 && leap) || hour > 23
        || minute > 59 || second > 59)
        return 0;
    /* days from 1970-01-01 (H. Hinnant's days_from_civil, as rules.days_from_civil) */
    int64_t shifted = year - (month <= 2);
    int64_t era = (shifted >= 0 ? shifted : shifted - 399) / 400;
    int64_t year_of_era = shifted - era * 400;
    int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t days = era * 146097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year - 719468;
    *millis = (days * 86400 + hour * 3600 + minute * 60 + second) * 1000 + fraction;
    return *millis >= MIN_MILLIS && *millis < MAX_MILLIS;
}

/* ---- the points, packed --------------------------------------------------------------------------------- */

/* A point's time: its kind (0 none, 1 number, 2 text, 3 text in CloudTrail's form: see fast_time), the number
   (NaN for none; the text's epoch milliseconds for 3, exact in a double), the text's end offset. */
enum { TIME_NONE = 0, TIME_NUMBER = 1, TIME_TEXT = 2, TIME_MILLIS = 3 };

typedef struct {
    Py_ssize_t count;
    TextColumn names; /* the metric names: each distinct one kept once, its rank of first appearance each point's */
    Buffer values, value_valid, steps, step_valid, time_kinds, time_numbers, text_ends, texts;
} Points;

static int add_point(Points *points, const PointTokens *point) {
    double number = 0.0;
    int64_t step = 0;
    unsigned char valid;
    TRY(text_column_add(&points->names, 1, &point->name));
    valid = point->value.kind == T_NUMBER;
    if (valid)
        TRY(number_of(&point->value, &number));
    TRY(buffer_add(&points->values, &number, sizeof number));
    TRY(buffer_add(&points->value_valid, &valid, 1));
    valid = point->step.kind == T_NUMBER; /* (an integer: point_member let no other number through) */
    if (valid)
        step = integer_of(&point->step);
    TRY(buffer_add(&points->steps, &step, sizeof step));
    TRY(buffer_add(&points->step_valid, &valid, 1));
    unsigned char kind = point->timestamp.kind == T_NUMBER ? TIME_NUMBER
                         : point->timestamp.kind == T_STRING ? TIME_TEXT : TIME_NONE;
    number = Py_NAN;
    if (kind == TIME_NUMBER)
        TRY(number_of(&point->timestamp, &number));
    if (kind == TIME_TEXT) {
        if (point->timestamp.unicode) /* (a \u escape in a kept value: see text_column_add) */
            return DECLINE;
        Py_ssize_t start = points->texts.used;
        int64_t millis;
        TRY(buffer_add_text(&points->texts, &point->timestamp));
        if (fast_time((const unsigned char *)points->texts.data + start, points->texts.used - start, &millis)) {
            kind = TIME_MILLIS;
            number = (double)millis;
        }
    }
    int32_t end = (int32_t)points->texts.used;
    if (points->texts.used > INT32_MAX)
        return DECLINE;
    TRY(buffer_add(&points->time_kinds, &kind, 1));
    TRY(buffer_add(&points->time_numbers, &number, sizeof number));
    TRY(buffer_add(&points->text_ends, &end, sizeof end));
    points->count++;
    return OK;
}

static void points_release(Points *points) {
    Buffer *buffers[] = {&points->values, &points->value_valid, &points->steps, &points->step_valid,
                         &points->time_kinds, &points->time_numbers, &points->text_ends, &points->texts};
    for (size_t i = 0; i < sizeof buffers / sizeof *buffers; i++)
        PyMem_Free(buffers[i]->data);
    text_column_release(&points->names);
}

/* A text column's entries, as a list of str. */
static PyObject *text_column_list(const TextColumn *column) {
    PyObject *list = PyList_New(column->count);
    for (Py_ssize_t entry = 0; list != NULL && entry < column->count; entry++) {
        Py_ssize_t start = entry_start(column, entry), end = ((const int32_t *)column->ends.data)[entry];
        PyObject *text = PyUnicode_New(end - start, 127);
        if (text == NULL) {
            Py_CLEAR(list);
            break;
        }
        if (end > start)
            memcpy(PyUnicode_1BYTE_DATA(text), column->texts.data + start, (size_t)(end - start));
        PyList_SET_ITEM(list, entry, text);
    }
    return list;
}

/* (size, names, codes, values, value_valid, steps, step_valid, time_kinds, time_numbers, text_ends, texts) */
static PyObject *points_tuple(const Points *points) {
    typedef PyObject *(*Converter)(void *);
    Converter bytes_of = (Converter)buffer_bytes;
    return Py_BuildValue("(nNO&O&O&O&O&O&O&O&O&)", points->count, text_column_list(&points->names),
                         bytes_of, &points->names.codes, bytes_of, &points->values, bytes_of, &points->value_valid,
                         bytes_of, &points->steps, bytes_of, &points->step_valid, bytes_of, &points->time_kinds,
                         bytes_of, &points->time_numbers, bytes_of, &points->text_ends, bytes_of, &points->texts);
}

/* ---- the calls, packed --------------------------------------------------------------------------------- */

/* The calls' text columns, in this order in the answer (the partition's three are the file's own). */
enum { X_ID, X_COMPONENT, X_CODE, X_TIME, X_ARN, X_MESSAGE, X_CALLER, X_AGENT, X_IP, TEXT_COLUMN_COUNT };
static const char *const TEXT_COLUMNS[] = {
    "event_id", "trial_component", "error_code", "event_time", "trial_component_arn", "error_message",
    "caller_arn", "user_agent", "source_ip",
};
/* Whether a column's equal values share one entry (the rows' dictionary: trial components, callers... repeat
   call after call); an event's id and time are each an entry of their own. */
static const unsigned char SHARED[] = {0, 1, 1, 0, 1, 1, 1, 1, 1};

/* ---- the lists ------------------------------------------------------------------------------------------ */

typedef struct {
    PyObject *partition[3];
    TextColumn texts[TEXT_COLUMN_COUNT];
    Buffer point_counts, call_points; /* int64 a call: its points, and those it stored (0 for a failed call) */
    Buffer event_millis; /* int64 a call: its eventTime's epoch milliseconds (see fast_time), else NO_MILLIS */
    Py_ssize_t calls;
    Points points;
    Py_ssize_t events, named;
} Lists;

/* (size, point_counts, call_points, event_millis, (each text column's tuple, in TEXT_COLUMNS' order)) */
static PyObject *calls_tuple(Lists *lists) {
    typedef PyObject *(*Converter)(void *);
    Converter bytes_of = (Converter)buffer_bytes;
    PyObject *texts = PyTuple_New(TEXT_COLUMN_COUNT);
    if (texts == NULL)
        return NULL;
    for (int i = 0; i < TEXT_COLUMN_COUNT; i++) {
        PyObject *column = text_column_tuple(&lists->texts[i]);
        if (column == NULL) {
            Py_DECREF(texts);
            return NULL;
        }
        PyTuple_SET_ITEM(texts, i, column);
    }
    return Py_BuildValue("(nO&O&O&N)", lists->calls, bytes_of, &lists->point_counts, bytes_of, &lists->call_points,
                         bytes_of, &lists->event_millis, texts);
}

/* The trial component's ARN among a call's resources, as columnar's _typed_trial_component_arn finds it. */
static int trial_component_arn(const ResourceTokens *resources, Py_ssize_t count, const Token **arn) {
    *arn = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        const ResourceTokens *resource = &resources[i];
        int has_upper = resource->ARN.kind > T_NULL, has_lower = resource->arn.kind > T_NULL;
        if (resource->type.kind <= T_NULL || has_upper == has_lower)
            return DECLINE;
        if (resource->type.kind == T_STRING && resource->type.escaped)
            return DECLINE;
        if (equals(&resource->type, TRIAL_COMPONENT_RESOURCE_TYPE)) {
            *arn = has_upper ? &resource->ARN : &resource->arn;
            return (*arn)->kind == T_STRING ? OK : DECLINE;
        }
    }
    return OK;
}

/* One record's columns, when it is a metric call that the typed columns hold. */
static int add_call(Lists *lists, const EventScan *event, const ResourceTokens *resources,
                    const PointTokens *points) {
    static const Token none = {0};
    const Token *fields = event->fields, *arn;
    for (int i = 0; i < 3; i++)
        if (lists->partition[i] == Py_None)
            return DECLINE;
    /* what columnar requires of each call */
    if (fields[E_ID].kind <= T_NULL || event->parameters != T_OTHER || fields[E_TIME].kind <= T_NULL
        || event->identity != T_OTHER || fields[E_IDENTITY].kind <= T_NULL || fields[E_AGENT].kind <= T_NULL
        || fields[E_IP].kind <= T_NULL || event->resources != T_OTHER)
        return DECLINE;
    TRY(trial_component_arn(resources, event->resource_count, &arn));
    const Token *texts[TEXT_COLUMN_COUNT] = {
        &fields[E_ID], &event->inside.component, &fields[E_CODE], &fields[E_TIME], arn != NULL ? arn : &none,
        &fields[E_MESSAGE], &fields[E_IDENTITY], &fields[E_AGENT], &fields[E_IP],
    };
    for (int i = 0; i < TEXT_COLUMN_COUNT; i++)
        TRY(text_column_add(&lists->texts[i], SHARED[i], texts[i]));
    int64_t millis = NO_MILLIS;
    const Token *time = &fields[E_TIME];
    if (time->kind == T_STRING && !time->escaped && !fast_time(time->start, time->length, &millis))
        millis = NO_MILLIS;
    TRY(buffer_add(&lists->event_millis, &millis, sizeof millis));
    int64_t count = event->inside.point_count > 0 ? event->inside.point_count : 0;
    int failed = fields[E_CODE].kind > T_NULL;
    int64_t stored = failed ? 0 : count;
    TRY(buffer_add(&lists->point_counts, &count, sizeof count));
    TRY(buffer_add(&lists->call_points, &stored, sizeof stored));
    lists->calls++;
    if (failed) /* a failed call stored nothing */
        return OK;
    for (Py_ssize_t i = 0; i < count; i++)
        TRY(add_point(&lists->points, &points[i]));
    return OK;
}

static int record_element(Scanner *s, Py_ssize_t index, void *argument) {
    Lists *lists = argument;
    EventScan event;
    (void)index;
    if (!at(s, '{'))
        return DECLINE;
    memset(&event, 0, sizeof event);
    event.inside.point_count = -1;
    s->points.used = s->resources.used = 0;
    TRY(scan_object(s, &EVENT_SET, event_member, &event));
    lists->events++;
    if (!equals(&event.fields[E_NAME], METRICS_EVENT_NAME)) {
        const Token *name = &event.fields[E_NAME];
        /* (a name spelt with escapes other than a letter's could still be the name) */
        return name->kind == T_STRING && name->escaped ? DECLINE : OK;
    }
    lists->named++;
    const Token *source = &event.fields[E_SOURCE];
    if (source->kind <= T_NULL || (source->kind == T_STRING && source->escaped))
        return DECLINE;
    if (!equals(source, METRICS_EVENT_SOURCE))
        return OK;
    return add_call(lists, &event, s->resources.items, s->points.items);
}

static const Field LOG_FIELDS[] = {FIELD("Records"), FIELD("digestPublicKeyFingerprint")};

typedef struct {
    Lists *lists;
    unsigned seen;
} LogScan;

static int log_member(Scanner *s, const Token *key, int field, void *argument) {
    LogScan *scan = argument;
    Py_ssize_t count;
    (void)key;
    TRY(member_field(s, field, &scan->seen));
    if (field < 0)
        return OK;
    if (field == 1)
        return skip_value(s);
    if (!at(s, '['))
        return DECLINE; /* a digest, foreign JSON: the Python path tells which */
    return scan_array(s, record_element, scan->lists, &count);
}

static void release(Lists *lists) {
    for (int i = 0; i < TEXT_COLUMN_COUNT; i++)
        text_column_release(&lists->texts[i]);
    PyMem_Free(lists->point_counts.data);
    PyMem_Free(lists->call_points.data);
    PyMem_Free(lists->event_millis.data);
    points_release(&lists->points);
}

static PyObject *scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Py_buffer view;
    Lists lists;
    Scanner s;
    PyObject *result = NULL;
    int status;
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "scan(data, account, region, day) takes 4 arguments");
        return NULL;
    }
    if (!PyBytes_Check(args[0])) { /* (immutable, and ends with a NUL: no other buffer changes or ends midway) */
        PyErr_SetString(PyExc_TypeError, "scan() takes the log's bytes");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    memset(&lists, 0, sizeof lists);
    memset(&s, 0, sizeof s);
    s.points.size = sizeof(PointTokens);
    s.resources.size = sizeof(ResourceTokens);
    for (int i = 0; i < 3; i++)
        lists.partition[i] = args[1 + i];
    status = OK;
    if (status == OK) {
        s.p = view.buf;
        s.end = s.p + view.len;
        if (*s.end != '\0') /* (never, for bytes: see Scanner) */
            status = DECLINE;
        skip_space(&s);
        LogScan log = {&lists, 0};
        if (status == OK)
            status = *s.p == '{' ? scan_object(&s, &LOG_SET, log_member, &log) : DECLINE;
        if (status == OK) {
            skip_space(&s);
            if (s.p != s.end || !(log.seen & 1u) || lists.named != s.quoted)
                status = DECLINE;
            /* (with the name in it, a file the location gives no partition is read generically: columnar) */
            for (int i = 0; i < 3 && status == OK && s.quoted; i++)
                if (lists.partition[i] == Py_None)
                    status = DECLINE;
        }
    }
    PyMem_Free(s.points.items);
    PyMem_Free(s.resources.items);
    PyBuffer_Release(&view);
    if (status == OK) {
        /* a file without the quoted name is read by the typed path's outline: no columns, not "typed" */
        result = Py_BuildValue("(nOO&O&)", lists.events, s.quoted ? Py_True : Py_False,
                               (PyObject *(*)(void *))calls_tuple, &lists,
                               (PyObject *(*)(void *))points_tuple, &lists.points);
    } else if (status == DECLINE) {
        result = Py_NewRef(Py_None);
    }
    release(&lists);
    return result;
}

/* unify(columns) -> (mapping, ends, texts): the distinct entries of several files' text columns, each given as
   (ends, texts) (see text_column_tuple), in order of first appearance, as (ends, texts), and ``mapping``
   (int32 an entry of the files, in their order) each entry's place among them. A ValueError for ends that
   are not within their texts. */
static PyObject *unify(PyObject *module, PyObject *columns) {
    TextColumn unified;
    Buffer mapping = {0};
    PyObject *result = NULL;
    int status = OK;
    (void)module;
    memset(&unified, 0, sizeof unified);
    PyObject *items = PySequence_Fast(columns, "unify() takes a sequence of (ends, texts)");
    if (items == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items) && status == OK; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, i), *ends, *texts;
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || !PyBytes_Check(ends = PyTuple_GET_ITEM(item, 0))
            || !PyBytes_Check(texts = PyTuple_GET_ITEM(item, 1)) || PyBytes_GET_SIZE(ends) % 4) {
            status = DECLINE;
            break;
        }
        const char *text = PyBytes_AS_STRING(texts);
        Py_ssize_t count = PyBytes_GET_SIZE(ends) / 4, start = 0, size = PyBytes_GET_SIZE(texts);
        for (Py_ssize_t k = 0; k < count && status == OK; k++) {
            int32_t end, code;
            memcpy(&end, PyBytes_AS_STRING(ends) + 4 * k, sizeof end);
            if (end < start || end > size) {
                status = DECLINE;
                break;
            }
            Py_ssize_t at = unified.texts.used;
            if ((status = buffer_add(&unified.texts, text + start, end - start)) == OK
                && (status = text_column_entry(&unified, 1, at, &code)) == OK)
                status = buffer_add(&mapping, &code, sizeof code);
            start = end;
        }
    }
    Py_DECREF(items);
    if (status == OK) {
        typedef PyObject *(*Converter)(void *);
        Converter bytes_of = (Converter)buffer_bytes;
        result = Py_BuildValue("(O&O&O&)", bytes_of, &mapping, bytes_of, &unified.ends, bytes_of, &unified.texts);
    } else if (status == DECLINE) {
        PyErr_SetString(PyExc_ValueError, "unify() takes (ends, texts) pairs of bytes, each end within its texts");
    }
    PyMem_Free(mapping.data);
    text_column_release(&unified);
    return result;
}

static PyMethodDef METHODS[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "scan(data, account, region, day): the lists of a usual CloudTrail log, or None (see the module)."},
    {"unify", (PyCFunction)unify, METH_O,
     "unify(columns): the distinct entries of several files' packed text columns, and each entry's place."},
    {NULL, NULL, 0, NULL},
};

#define FIELD_SET(set, fields, kind) field_set_init(&set, fields, (int)(sizeof fields / sizeof *fields), kind)

static int exec_module(PyObject *module) {
    FIELD_SET(POINT_SET, POINT_FIELDS, K_POINT);
    FIELD_SET(PARAMETER_SET, PARAMETER_FIELDS, K_PARAMETERS);
    FIELD_SET(IDENTITY_SET, IDENTITY_FIELDS, K_IDENTITY);
    FIELD_SET(RESOURCE_SET, RESOURCE_FIELDS, K_RESOURCE);
    FIELD_SET(EVENT_SET, EVENT_FIELDS, K_EVENT);
    FIELD_SET(LOG_SET, LOG_FIELDS, K_LOG);
    PyObject *columns = PyTuple_New(TEXT_COLUMN_COUNT);
    if (columns == NULL)
        return -1;
    for (int i = 0; i < TEXT_COLUMN_COUNT; i++) {
        PyObject *name = PyUnicode_FromString(TEXT_COLUMNS[i]);
        if (name == NULL) {
            Py_DECREF(columns);
            return -1;
        }
        PyTuple_SET_ITEM(columns, i, name);
    }
    if (PyModule_AddObject(module, "TEXT_COLUMNS", columns) < 0) {
        Py_DECREF(columns);
        return -1;
    }
    if (PyModule_AddStringConstant(module, "SOURCE_DIGEST", SCAN_SOURCE_DIGEST) < 0
        || PyModule_AddStringConstant(module, "METRICS_EVENT_NAME", METRICS_EVENT_NAME) < 0
        || PyModule_AddStringConstant(module, "METRICS_EVENT_SOURCE", METRICS_EVENT_SOURCE) < 0
        || PyModule_AddStringConstant(module, "TRIAL_COMPONENT_RESOURCE_TYPE", TRIAL_COMPONENT_RESOURCE_TYPE) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot SLOTS[] = {{Py_mod_exec, exec_module}, {0, NULL}};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "smtrail_sql.reader._scan",
    "The usual CloudTrail log file read into the reader's lists in C (see smtrail_sql.reader.native).", 0,
    METHODS, SLOTS, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    return PyModuleDef_Init(&MODULE);
}
