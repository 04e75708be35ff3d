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
    # locate the pronoun by formatting the prefix up to it
    head = tpl.split("{PR}")[0].format(**fields)
    before_x = tpl.split("{X}")[0].format(**fields)
    text = tpl.format(**fields)
    return {"text": text, "pronoun": len(head), "verb": len(head) + 1, "class": c,
            "noun": len(before_x), "noun_len": len(x)}


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
    for t, _ in TRAIN_TEMPLATES + HELDOUT_TEMPLATES + HELDOUT_VERB_TEMPLATES:
        chars.update(re.sub(r"\{[A-Z0-9]+\}", "", t))
    chars.update("".join(TRAIN_PREFIXES + HELDOUT_PREFIXES))
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
