#!/usr/bin/env python3
"""Deterministic generator of Apache combined access-log lines for the end-to-end benchmark.

    gen_apache.py N OUT [--seed S]

Writes N lines to OUT (LF-terminated). The same N and seed always give byte-identical output.
The mix (mostly GET, ~91% 200 / 4% 304 / 2% 404 / 2% 301, some '-' sizes and referrers, browser
and bot user agents, query strings, IPv4 clients with a heavy-tail distribution, one-second-ish
increasing timestamps) is modelled on real public web-server logs.
"""
import random
import sys

TLDS = ["com", "org", "net", "de", "dk", "io"]
SECTIONS = ["blog", "presentations", "projects", "articles", "images", "files", "docs", "static", "api/v1", "wiki"]
WORDS = ["logstash", "monitorama", "kibana", "elasticsearch", "ruby", "puppet", "xdotool", "fpm",
         "grok", "syslog", "nagios", "jordansissel", "dashboard", "search", "index", "release",
         "2013", "2014", "intro", "howto", "debian", "centos", "keyboard", "rfc5424", "tls", "rsyslog"]
EXTS = [(".html", 20), (".png", 18), (".css", 10), (".js", 12), ("/", 15), (".xml", 6), (".jpg", 8),
        (".gif", 3), (".pdf", 2), (".tar.gz", 2), (".json", 4)]
METHODS = [("GET", 9900), ("HEAD", 45), ("POST", 50), ("OPTIONS", 3), ("PUT", 2)]
STATUS = [(200, 9100), (304, 450), (404, 215), (301, 165), (206, 45), (500, 8), (403, 5), (416, 2), (503, 10)]
PROTOS = [("HTTP/1.1", 95), ("HTTP/1.0", 5)]
AGENTS = [
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36", 100),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/33.0.1750.91 Safari/537.36", 37),
    ("UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/", 36),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:27.0) Gecko/20100101 Firefox/27.0", 30),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 6_0 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Version/6.0 Mobile/10A5376e Safari/8536.25 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 27),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36", 27),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 24),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:27.0) Gecko/20100101 Firefox/27.0", 24),
    ("Tiny Tiny RSS/1.11 (http://tt-rss.org/)", 20),
    ("-", 19),
    ("Mozilla/5.0 (compatible; archive.org_bot +http://www.archive.org/details/archive.org_bot)", 17),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 15),
    ("curl/7.88.1", 8),
    ("Wget/1.21.3", 5),
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", 25),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", 25),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", 30),
    ("python-requests/2.31.0", 6),
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def cumulative(pairs):
    values, weights = zip(*pairs)
    return list(values), list(weights)


def main():
    args = sys.argv[1:]
    seed = 20240517
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    n, out = int(args[0]), args[1]
    rng = random.Random(seed)

    # A client population with a heavy tail: a few busy clients, many occasional ones.
    clients = []
    for _ in range(5000):
        ip = "%d.%d.%d.%d" % (rng.choice([24, 46, 50, 66, 83, 93, 107, 110, 130, 144, 173, 185, 188, 199, 208, 217]),
                              rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        clients.append(ip)
    client_w = [1.0 / (i + 1) ** 0.9 for i in range(len(clients))]
    idents = ["-"] * 97 + ["admin", "jdoe", "alice"]

    # A site of a few thousand URLs.
    urls = []
    for _ in range(3000):
        depth = rng.randint(1, 4)
        parts = [rng.choice(SECTIONS)] + [rng.choice(WORDS) + (str(rng.randrange(100)) if rng.random() < 0.3 else "")
                                           for _ in range(depth - 1)]
        ext = rng.choices(*cumulative(EXTS))[0]
        path = "/" + "/".join(parts) + ext
        urls.append(path)
    url_w = [1.0 / (i + 1) ** 0.8 for i in range(len(urls))]
    referrer_hosts = ["www.semicomplete.com", "semicomplete.com", "www.google.com", "www.bing.com",
                      "duckduckgo.com", "news.ycombinator.com", "t.co", "github.com"]

    methods, method_w = cumulative(METHODS)
    statuses, status_w = cumulative(STATUS)
    protos, proto_w = cumulative(PROTOS)
    agents, agent_w = cumulative(AGENTS)

    # Pre-draw in bulk (much faster than per-line choices calls).
    B = 100000
    t = 1715940000  # 2024-05-17T10:00:00Z
    with open(out, "w", encoding="ascii", newline="\n") as f:
        done = 0
        while done < n:
            k = min(B, n - done)
            cl = rng.choices(clients, client_w, k=k)
            ul = rng.choices(urls, url_w, k=k)
            ml = rng.choices(methods, method_w, k=k)
            sl = rng.choices(statuses, status_w, k=k)
            pl = rng.choices(protos, proto_w, k=k)
            al = rng.choices(agents, agent_w, k=k)
            lines = []
            for i in range(k):
                if rng.random() < 0.02:
                    t += 1
                tm = gmtime_cached(t)
                url = ul[i]
                r = rng.random()
                if r < 0.12:
                    url += "?q=%s&page=%d" % (rng.choice(WORDS), rng.randrange(1, 20))
                elif r < 0.15:
                    url += "?utm_source=%s&id=%x" % (rng.choice(WORDS), rng.getrandbits(32))
                st = sl[i]
                if st in (304, 301) or ml[i] == "HEAD":
                    size = "-" if rng.random() < 0.7 else "0"
                else:
                    size = str(int(rng.lognormvariate(8.5, 1.6)) + 20)
                rr = rng.random()
                if rr < 0.35:
                    ref = "-"
                elif rr < 0.8:
                    ref = "http://%s%s" % (rng.choice(referrer_hosts[:2]), rng.choice(urls))
                else:
                    ref = "https://%s/search?q=%s+%s" % (rng.choice(referrer_hosts[2:]), rng.choice(WORDS), rng.choice(WORDS))
                lines.append('%s - %s [%s +0000] "%s %s %s" %d %s "%s" "%s"\n' % (
                    cl[i], rng.choice(idents), tm, ml[i], url, pl[i], st, size, ref, al[i]))
            f.write("".join(lines))
            done += k


_cache = {}


def gmtime_cached(t):
    s = _cache.get(t)
    if s is None:
        import time
        g = time.gmtime(t)
        s = "%02d/%s/%04d:%02d:%02d:%02d" % (g.tm_mday, MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)
        if len(_cache) > 4:
            _cache.clear()
        _cache[t] = s
    return s


if __name__ == "__main__":
    main()
