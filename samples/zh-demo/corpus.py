#!/usr/bin/env python3
"""Corpus builder for the demo model (samples/zh-demo/train.py imports it).

Two kinds of text, both built on the fly from Debian packages, nothing downloaded:

* Real prose: the Simplified Chinese man pages of Debian's `manpages-zh`
  (/usr/share/man/zh_CN, GFDL-1.2+, https://github.com/man-pages-zh/manpages-zh).
  roff markup is stripped and only sentences made of CJK characters and
  Chinese punctuation are kept (command names and options are ASCII and are
  dropped with their sentence).
* Generated pronoun sentences: an antecedent noun X, then a clause in which a
  pronoun (它 for things and animals, 他/她 by gender for people) refers back
  to it, followed by a verb that only fits X's class (吃 a fruit, 读 a book,
  穿 a coat, 喝 a drink, 骑 a bike, 喂 an animal, 种 a flower, 扶 a person).
  Masking that verb (or the pronoun) makes the model resolve the reference.
  Nouns are checked against python3-jieba's dictionary (dict.txt, MIT/Expat),
  where every one is tagged as a noun; a fixed share of each class's nouns and
  two templates are held out for evaluation.

Training sentences vary what surrounds the noun and the pronoun (`make_train_example`),
so that the noun is found by its place in the sentence and not by being the one
unusual word: besides the class verbs, verbs that fit any thing or any person; a verb
slot of one or two arbitrary characters; adjectives after the noun; an opening or a
middle clause cut from the man-page prose; and now and then a made-up two-character
noun. None of these uses a character that only the held-out sentences have
(`heldout_only_chars`): the held-out verbs, nouns and opening clauses stay unseen.

Everything is seeded; `python3 corpus.py` prints a sample and the counts.
"""

import glob
import gzip
import random
import re

JIEBA_DICT = "/usr/lib/python3/dist-packages/jieba/dict.txt"
MAN_GLOB = "/usr/share/man/zh_CN/man*/*.gz"
SEED = 7

# class -> (pronoun kind, classifier, nouns, [(verb, complement)] for "把它V了",
#           verb for the "掉下来 ... 把它V起来了" frame of the seed sentence)
CLASSES = {
    "fruit": ("它", "个", "苹果 水果 核桃 香蕉 樱桃 黄瓜 石榴 芒果 草莓 木瓜 西瓜 葡萄 橘子 "
              "桃子 菠萝 柠檬 李子 荔枝 柿子 梨子 橙子 甜瓜".split(),
              [("吃", "掉"), ("切", "开"), ("剥", "开")], "捡"),
    "book": ("它", "本", "杂志 图书 词典 字典 手册 画册 小说 课本 日记 教科书 说明书 故事书 "
             "笔记本 诗集 漫画 菜谱 练习册".split(),
             [("读", "完"), ("看", "完"), ("翻", "开")], "捡"),
    "clothes": ("它", "件", "衬衫 大衣 外衣 毛衣 上衣 棉衣 雨衣 睡衣 外套 背心 夹克 "
                "风衣 马甲 西装 衬衣 羽绒服 运动服 校服 旗袍 礼服".split(),
                [("穿", "上"), ("叠", "好"), ("晒", "干")], "捡"),
    "drink": ("它", "杯", "牛奶 果汁 啤酒 汽水 绿茶 奶茶 咖啡 酸奶 矿泉水 热茶 "
              "豆浆 红茶 米酒 椰汁 柠檬水 白酒 凉茶 花茶".split(),
              [("喝", "完"), ("喝", "光")], "捡"),
    "vehicle": ("它", "辆", "汽车 自行车 卡车 摩托车 三轮车 小汽车 出租车 电车 单车 "
                "公交车 马车 赛车 货车 吉普车 救护车 消防车 警车 面包车 拖拉机 轿车".split(),
                [("骑", "走"), ("开", "走"), ("修", "好")], "扶"),
    "animal": ("它", "只", "小猫 小狗 小鸟 兔子 企鹅 小鸭 熊猫 猴子 小羊 金鱼 鹦鹉 乌龟 "
               "松鼠 刺猬 小鸡 鸽子 狐狸 青蛙 蝴蝶 老鼠".split(),
               [("喂", "饱"), ("抱", "走"), ("养", "大")], "抱"),
    "flower": ("它", "盆", "鲜花 菊花 荷花 玫瑰 兰花 茉莉花 水仙 牡丹 杜鹃 仙人掌 "
               "百合 郁金香 向日葵 芦荟 海棠 桂花 梅花 吊兰 文竹".split(),
               [("种", "好"), ("浇", "透"), ("搬", "走")], "捡"),
    "male": ("他", "个", "弟弟 哥哥 爸爸 爷爷 叔叔 舅舅 男孩 小伙子 伯伯 外公 老爷爷 "
             "男生 大哥 儿子 孙子 丈夫 王子 和尚 先生".split(),
             [("扶", "起"), ("叫", "醒"), ("送", "走")], "扶"),
    "female": ("她", "个", "妹妹 姐姐 妈妈 奶奶 阿姨 女孩 姑娘 外婆 婶婶 姑姑 老奶奶 "
               "女生 少女 大姐 女儿 孙女 妻子 公主 尼姑 小姐".split(),
               [("扶", "起"), ("叫", "醒"), ("送", "走")], "扶"),
}
PEOPLE = ("小明 小红 小刚 小丽 小华 小军 小芳 小伟 小强 小美 老王 老李 阿明 小东 小玲 "
          "小林 小文 小雨 老张 小亮").split()
PLACES = "树上 桌上 架子上 床上 楼梯上 窗台上 椅子上 柜子上 车上 墙上 屋顶上 台阶上".split()
PERSON_CLASSES = ("male", "female")

# {S}, {S2} people; {CL} classifier; {X} noun; {PR} pronoun; {V}{C} verb+complement;
# {V2} the frame-B verb; {P} a place. Frame B ("...起来了") is the seed sentence's frame.
TRAIN_TEMPLATES = [
    ("{S}买了一{CL}{X}，回到家就把{PR}{V}{C}了。", "things"),
    ("{S}看见一{CL}{X}，就把{PR}{V}{C}了。", "all"),
    ("{S}找到了一{CL}{X}，高兴地把{PR}{V}{C}了。", "all"),
    ("这{CL}{X}是{S2}的，{S}却把{PR}{V}{C}了。", "things"),
    ("{S2}给了{S}一{CL}{X}，{S}马上把{PR}{V}{C}了。", "things"),
    ("{S}的{X}放在{P}，{S2}把{PR}{V}{C}了。", "things"),
    ("{X}在{P}等着，{S}过去把{PR}{V}{C}了。", "all"),
    ("{X}从{P}掉下来，{S}把{PR}{V2}起来了。", "all"),
    ("{S}在{P}发现了一{CL}{X}，就把{PR}{V2}起来了。", "all"),
    ("{X}倒在{P}，{S}连忙把{PR}{V2}起来了。", "all"),
    # more frames, so that no one position or word order marks the antecedent
    ("{S}把{X}带回了家，{S2}看见了，就把{PR}{V}{C}了。", "things"),
    ("桌子上有一{CL}{X}，{S}把{PR}{V}{C}了。", "things"),
    ("{S}和{S2}一起找到了{X}，最后{S}把{PR}{V}{C}了。", "things"),
    ("{S}送给{S2}一{CL}{X}，{S2}很喜欢，马上把{PR}{V}{C}了。", "things"),
    ("因为{X}在{P}，所以{S}把{PR}{V2}起来了。", "all"),
]
HELDOUT_TEMPLATES = [
    ("{S}拿起一{CL}{X}，很快就把{PR}{V}{C}了。", "things"),
    ("{X}就在{P}，{S}走过去把{PR}{V2}起来了。", "all"),
]
# held out as well: verbs no training sentence uses (拿走, 收起来, 擦干净, 洗干净) in their
# own frames, and clauses put before a training template that move the noun and the pronoun
# to other positions (training sentences get other such clauses, TRAIN_PREFIXES)
HELDOUT_VERB_TEMPLATES = [
    ("{S}把{X}放在{P}，过了一会儿又把{PR}拿走了。", "things"),
    ("{S}在{P}看到一{CL}{X}，就把{PR}收起来了。", "things"),
    ("{X}在{P}放了很久，{S}终于把{PR}擦干净了。", "things"),
    ("{S2}的{X}很脏，{S}帮忙把{PR}洗干净了。", "things"),
]
TRAIN_PREFIXES = ["今天早上，", "那天下午，", "昨天晚上，", "天黑以后，", "放学以后，",
                  "到了周末，", "吃完饭以后，"]
HELDOUT_PREFIXES = ["过了一会儿，", "下雨的时候，", "那年秋天天气很好，", "大家都睡着以后，",
                    "第二天一大早，"]
# training-only variety (make_train_example): verbs after the pronoun that fit any thing
# or any person, adjectives for the frames with {A}, frames with an adjective
GENERIC_VERBS = {
    "它": [("放", "好"), ("扔", "掉"), ("藏", "起来"), ("带", "走"), ("卖", "掉"), ("摆", "好"),
          ("挂", "起来"), ("包", "好"), ("找", "到"), ("放", "进柜子里"), ("交", "给老师"),
          ("借", "走"), ("弄", "坏"), ("丢", "掉"), ("留", "下"), ("推", "开"), ("搬", "回家"),
          ("装", "进袋子里"), ("送", "人"), ("画", "下来")],
    "他": [("叫", "过来"), ("拉", "起来"), ("带", "走"), ("送", "回家"), ("找", "到"),
          ("请", "进来"), ("留", "下"), ("推", "开"), ("抱", "起来"), ("拦", "住")],
}
GENERIC_VERBS["她"] = GENERIC_VERBS["他"]
ADJECTIVES = "新 旧 大 小 重 轻 贵 好看 漂亮 可爱 特别 奇怪 便宜 有名".split()
TRAIN_ADJ_TEMPLATES = [
    ("{X}很{A}，{S}一看见就把{PR}{V}{C}了。", "things"),
    ("{S}觉得这{CL}{X}很{A}，就把{PR}{V}{C}了。", "all"),
]
HELDOUT_SHARE = 0.2
KEEP_IN_TRAIN = {"苹果"}  # the seed sentence's noun stays a training noun


def jieba_nouns():
    tags = {}
    with open(JIEBA_DICT, encoding="utf-8") as f:
        for line in f:
            w, _, t = line.split()
            tags.setdefault(w, t)
    return tags


def check_nouns(log=print):
    """Fails unless every class noun is tagged as a noun (n, nr, nz ...) in jieba's dict."""
    tags = jieba_nouns()
    odd = [(w, tags.get(w)) for c in CLASSES.values() for w in c[2]
           if not (tags.get(w) or "").startswith("n")]
    if odd:
        raise SystemExit("nouns not tagged n* in jieba's dict.txt: %s" % " ".join(
            "%s(%s)" % (w, t or "-") for w, t in odd))


def split_nouns(seed=SEED):
    rng = random.Random(seed)
    train, held = {}, {}
    for c, (_, _, nouns, _, _) in CLASSES.items():
        ns = sorted(nouns)
        rng.shuffle(ns)
        k = max(2, int(round(len(ns) * HELDOUT_SHARE)))
        cand = [w for w in ns if w not in KEEP_IN_TRAIN]
        held[c] = cand[:k]
        train[c] = [w for w in ns if w not in held[c]]
    return train, held


def make_sentence(rng, templates, nouns):
    """Returns (text, char index of the pronoun, char index of the target verb, class)."""
    d = make_example(rng, templates, nouns)
    return d["text"], d["pronoun"], d["verb"], d["class"]


def make_example(rng, templates, nouns, prefixes=(), p_prefix=0.0):
    """A generated sentence as a dict: text, pronoun (char index), verb (char index of the
    character after the pronoun), noun (char index of the antecedent), noun_len, class;
    with probability p_prefix one of prefixes is put before it."""
    tpl, scope = rng.choice(templates)
    if prefixes and rng.random() < p_prefix:
        tpl = rng.choice(prefixes) + tpl
    classes = [c for c in CLASSES if scope == "all" or c not in PERSON_CLASSES]
    c = rng.choice(classes)
    pr, cl, _, verbs, v2 = CLASSES[c]
    x = rng.choice(nouns[c])
    s, s2 = rng.sample(PEOPLE, 2)
    v, comp = rng.choice(verbs)
    fields = {"S": s, "S2": s2, "CL": cl, "X": x, "PR": pr, "V": v, "C": comp, "V2": v2,
              "P": rng.choice(PLACES)}
    return example_dict(tpl, fields, c)


def heldout_only_chars():
    """CJK characters that the held-out sentences use and no training sentence does:
    held-out nouns, verbs, frames and opening clauses. Training's random fillers and prose
    clauses leave them out."""
    train_nouns, held_nouns = split_nouns()
    seen = set("".join(TRAIN_PREFIXES + PEOPLE + PLACES + ADJECTIVES))
    for t, _ in TRAIN_TEMPLATES + TRAIN_ADJ_TEMPLATES:
        seen.update(t)
    for c, (pr, cl, _, verbs, v2) in CLASSES.items():
        seen.update(pr + cl + v2 + "".join(train_nouns[c]) + "".join(v + x for v, x in verbs))
    for vs in GENERIC_VERBS.values():
        seen.update("".join(v + x for v, x in vs))
    held = set("".join(HELDOUT_PREFIXES + [w for ns in held_nouns.values() for w in ns]))
    for t, _ in HELDOUT_TEMPLATES + HELDOUT_VERB_TEMPLATES:
        held.update(t)
    return {c for c in held - seen if "\u4e00" <= c <= "\u9fff"}


class TrainVariety:
    """What make_train_example draws from: prose clauses (2-8 characters, no pronoun, no
    held-out-only character) and single characters (those of the clauses)."""

    def __init__(self, prose):
        bad = heldout_only_chars() | set("它他她")
        clauses = {p for t in prose for p in re.split(r"[，、：；。！？“”（）《》]", t)
                   if 2 <= len(p) <= 8 and not bad & set(p)}
        self.clauses = sorted(clauses)
        self.chars = sorted({c for p in self.clauses for c in p})


def make_train_example(rng, nouns, var):
    """A training sentence (make_example's dict plus "verb_kind": class, generic or random):
    a training frame with, independently, an opening clause (a training one or one cut
    from prose), a prose clause after the first comma, a generic or random verb instead of
    the class verb, and (for things, 1 in 8) a made-up noun of two random characters."""
    tpl, scope = rng.choice(TRAIN_TEMPLATES + TRAIN_ADJ_TEMPLATES)
    if rng.random() < 0.25:
        i = tpl.index("，") + 1
        tpl = tpl[:i] + rng.choice(var.clauses) + "，" + tpl[i:]
    r = rng.random()
    if r < 0.25:
        tpl = rng.choice(TRAIN_PREFIXES) + tpl
    elif r < 0.5:
        tpl = rng.choice(var.clauses) + "，" + tpl
    classes = [c for c in CLASSES if scope == "all" or c not in PERSON_CLASSES]
    c = rng.choice(classes)
    pr, cl, _, verbs, v2 = CLASSES[c]
    x = rng.choice(nouns[c])
    kind = "class"
    if pr == "它" and rng.random() < 0.125:
        x = "".join(rng.choice(var.chars) for _ in range(2))
        kind = "generic"
    r = rng.random()
    v, comp = rng.choice(verbs)
    if r < 0.2:
        v, comp, v2, kind = "".join(rng.choice(var.chars) for _ in range(rng.randint(1, 2))), \
            "", rng.choice(var.chars), "random"
    elif r < 0.55 or kind == "generic":
        v, comp = rng.choice(GENERIC_VERBS[pr])
        kind = "generic" if "{V2}" not in tpl else kind
    s, s2 = rng.sample(PEOPLE, 2)
    fields = {"S": s, "S2": s2, "CL": cl, "X": x, "PR": pr, "V": v, "C": comp, "V2": v2,
              "P": rng.choice(PLACES), "A": rng.choice(ADJECTIVES)}
    d = example_dict(tpl, fields, c)
    d["verb_kind"] = kind
    return d


def example_dict(tpl, fields, c):
    """noun: where the antecedent starts; agent: where the person who acts on it (the last
    name before the pronoun) starts."""
    head = tpl.split("{PR}")[0].format(**fields)
    before_x = tpl.split("{X}")[0].format(**fields)
    agent = max(head.rfind(fields["S"]), head.rfind(fields["S2"]))
    return {"text": tpl.format(**fields), "pronoun": len(head), "verb": len(head) + 1,
            "class": c, "noun": len(before_x), "noun_len": len(fields["X"]), "agent": agent}


def man_sentences():
    out = []
    for path in sorted(glob.glob(MAN_GLOB)):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            t = f.read()
        for line in t.split("\n"):
            if line.startswith((".", "'")):
                continue
            line = re.sub(r"\\f[BIRP]|\\f\(..|\\\*\(..|\\\(..|\\[-&e|^]", "", line)
            for s in re.split(r"(?<=[。！？；])", line):
                s = s.strip()
                if 8 <= len(s) <= 100 and re.fullmatch(
                        r"[\u4e00-\u9fff，、：“”（）《》。！？；]+", s):
                    out.append(s)
    return sorted(set(out))


def all_synthetic_chars():
    chars = set()
    for c in CLASSES.values():
        chars.update(c[0] + c[1] + "".join(c[2]) + c[4])
        for v, comp in c[3]:
            chars.update(v + comp)
    for t, _ in (TRAIN_TEMPLATES + TRAIN_ADJ_TEMPLATES + HELDOUT_TEMPLATES +
                 HELDOUT_VERB_TEMPLATES):
        chars.update(re.sub(r"\{[A-Z0-9]+\}", "", t))
    for vs in GENERIC_VERBS.values():
        chars.update("".join(v + x for v, x in vs))
    chars.update("".join(TRAIN_PREFIXES + HELDOUT_PREFIXES + ADJECTIVES))
    chars.update("".join(PEOPLE) + "".join(PLACES) + "一")
    return chars


if __name__ == "__main__":
    check_nouns()
    rng = random.Random(SEED)
    tr, ho = split_nouns()
    for _ in range(8):
        print(make_sentence(rng, TRAIN_TEMPLATES, tr))
    print("held-out nouns:", {c: v for c, v in ho.items()})
    ms = man_sentences()
    print("man sentences: %d, %d chars" % (len(ms), sum(map(len, ms))))
    print("held-out-only characters:", "".join(sorted(heldout_only_chars())))
    var = TrainVariety(ms)
    print("prose clauses %d, filler characters %d" % (len(var.clauses), len(var.chars)))
    for _ in range(12):
        d = make_train_example(rng, tr, var)
        print(d["verb_kind"], d["text"], d["text"][d["noun"]:d["noun"] + d["noun_len"]],
              d["text"][d["pronoun"]])
