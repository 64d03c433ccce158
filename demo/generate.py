"""Deterministic demo extracts: one year of made-up data shaped like the real feeds, in the
headers, encodings and datetime forms real extracts come in, with a handful of bad rows. No real
resident is in it; what it holds and why: data/README.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import pathlib

import numpy as np
import polars as pl
import xlsxwriter

from etl.contract import KINDS
from settings import local_now, reference

SEED = 2083_331

N_COMPOUNDS = 331
N_MICRO_GRIDS = 2083
N_GRIDS = 329
N_BRANCHES = 122
N_KEY_TARGETS = 15
N_SCENES = 100
N_THREE_PARTY = 98
HAIJINGYUAN_SOLVED = 47
HAIJINGYUAN_OPEN = 4

# Demo parameters per street (not the street list: that is reference.toml). Streets missing here
# get a generic profile. code: used in ids; n: compounds; center: (lon, lat); appeals: per year;
# resp / res: share of appeals responded within 24 h / resolved within 48 h; sat: shift of the
# evaluation mix.
STREET_PROFILE = {
    "登州街道": dict(code="DZ", n=90, center=(120.757, 37.811), appeals=1850, resp=0.94,
                 res=0.90, sat=0.0, communities=["东城社区", "钟楼社区", "画河社区", "西关社区", "北关社区"]),
    "紫荆山街道": dict(code="ZJS", n=65, center=(120.779, 37.799), appeals=1650, resp=0.93,
                  res=0.89, sat=0.0, communities=["晒甲河社区", "紫荆山社区", "杏园社区", "南关社区", "府前社区"]),
    "蓬莱阁街道": dict(code="PLG", n=95, center=(120.766, 37.826), appeals=2050, resp=0.975,
                  res=0.955, sat=0.05, communities=["水城社区", "丹崖社区", "海港社区", "仙阁社区", "田横社区", "戚继光社区"]),
    "新港街道": dict(code="XG", n=48, center=(120.741, 37.817), appeals=1350, resp=0.925,
                 res=0.87, sat=0.0, communities=["新港社区", "港湾社区", "西庄社区", "海滨社区"]),
    "南王街道": dict(code="NW", n=33, center=(120.801, 37.791), appeals=950, resp=0.84,
                 res=0.77, sat=-0.06, communities=["南王社区", "山后社区", "绿洲社区"]),
}

# Per compound type: share of compounds, median households, households per building, chance of
# having no property company, appeal weight per household, whether it has lifts.
TYPE_PROFILE = {
    "老旧小区": dict(share=0.32, hh=210, per_bldg=(24, 36), no_pm=0.35, appeal=1.4, lift=False),
    "学区房": dict(share=0.09, hh=560, per_bldg=(40, 70), no_pm=0.0, appeal=1.0, lift=True),
    "商品房小区": dict(share=0.30, hh=640, per_bldg=(50, 100), no_pm=0.0, appeal=1.0, lift=True),
    "回迁安置小区": dict(share=0.13, hh=600, per_bldg=(48, 80), no_pm=0.05, appeal=1.25, lift=True),
    "单位家属院": dict(share=0.09, hh=120, per_bldg=(18, 30), no_pm=0.40, appeal=1.1, lift=False),
    "开放式楼院": dict(share=0.07, hh=80, per_bldg=(12, 24), no_pm=0.75, appeal=1.3, lift=False),
}
GENERIC_TYPE = dict(share=0.1, hh=300, per_bldg=(30, 60), no_pm=0.1, appeal=1.0, lift=True)

# Compounds the article names (and three the demo needs to host its scenes), placed first.
# (name, street, community or None, type, households)
NAMED = [
    ("海景苑", "登州街道", "东城社区", "回迁安置小区", 860),
    ("东城佳苑", "登州街道", "东城社区", "商品房小区", 640),
    ("幸福家园", "登州街道", None, "回迁安置小区", 520),
    ("宝龙国际", "蓬莱阁街道", None, "商品房小区", 1580),
    ("碧桂园", "蓬莱阁街道", None, "商品房小区", 2260),
    ("晒甲河新村", "紫荆山街道", "晒甲河社区", "回迁安置小区", 720),
    ("蔚蓝彼岸", "新港街道", None, "商品房小区", 1240),
    ("幸福家园", "南王街道", None, "回迁安置小区", 480),  # same name as in 登州街道, on purpose
]
SHOWCASE = {"宝龙国际", "碧桂园", "蔚蓝彼岸"}  # showcases: never key targets nor hot spots

_OLD_PRE = ("钟楼 画河 西关 北关 南关 东关 府前 水城 丹崖 蓬莱 登州 紫荆 港湾 振华 新华 解放 北山 "
            "西山 南山 利民 建设 胜利 光明 和平 团结 人民 文化 向阳 红旗 东风 海滨 迎宾 长青 前进").split()
_OLD_SUF = "小区 新村 宿舍 北区 南区".split()
_SCHOOL_PRE = "学府 文苑 书香 育才 文华 博雅 翰林 文昌 明德 启明 致远 育英 尚学 崇文".split()
_SCHOOL_SUF = "花园 佳苑 名邸 雅居 华庭 学苑".split()
_NEW_PRE = ("阳光 金港 御景 翠园 华府 锦绣 瑞祥 福泰 海悦 望海 观澜 银海 蓬瀛 仙境 海天 蓝湾 丽水 盛世 "
            "中央 海韵 东方 万和 天润 绿城 恒泰 碧海 丹霞 凤凰 海岸 滨海 金色 泰和 鸿福 龙山").split()
_NEW_SUF = "花园 家园 嘉园 名苑 华府 公馆 一品 雅苑 新城 御府 湾 壹号".split()
_RESETTLE_PRE = ("西庄 刘家沟 西城 北沟 海港 小皂 西王 马家 于家 曲家 孙家 姜家 大柳行 杨家 董家 宋家 "
                 "林家 郝家 战家 沙河 黄家 田家 徐家 鲁家 吴家 初家").split()
_RESETTLE_SUF = "新居 安置小区 和谐家园 新苑 佳园".split()
_UNITS = ("供电公司 自来水公司 交通局 粮食局 第一中学 人民医院 中医院 水产公司 农机厂 纺织厂 酒厂 邮电局 "
          "烟草公司 税务局 气象局 公安局 法院 检察院 武装部 港务局 渔业公司 化肥厂 建筑公司 百货公司 "
          "物资局 电业局 实验小学 师范学校 航运公司 罐头厂").split()
_ROADS = ("钟楼北路 钟楼南路 府前街 北关路 南关路 登州路 蓬莱阁路 海市路 画河路 迎宾路 南王路 新港路 "
          "西关路 戚继光路 文化路 振华街 海港路 紫荆山路").split()

_PM_WORDS = ("海润 仙阁 丹崖 金港 鑫源 华宇 瑞丰 安居 恒泰 鲁东 蓬瀛 蓬达 海天 银河 康居 嘉和 和美 顺达 "
             "永安 祥和 福源 诚信 新城 乐家 德润 万和 泰和 金鼎 海悦 盛世 东方 龙腾 润华 华府 宜家 港城 "
             "天成 宏泰 聚福 中汇 明珠 恒信 海兴 蓝海 长青 伟业 兴达 鸿运 益民 惠民").split()
PM_BRANDS = {"碧桂园": "碧桂园生活服务集团股份有限公司蓬莱分公司",
             "宝龙国际": "宝龙物业服务集团有限公司蓬莱分公司"}

APPEAL_CATEGORIES = ["矛盾调解", "环境卫生", "物业管理", "市政设施", "噪音扰民", "供暖供水", "交通出行", "其他"]
_APPEAL_CAT_W = np.array([0.14, 0.20, 0.18, 0.14, 0.08, 0.10, 0.08, 0.08])
CHANNEL_WEIGHT = {"12345热线": 0.38, "城市通": 0.27, "e网通扫码": 0.14, "网格员巡访": 0.11,
                  "民意日记": 0.06, "来信来访": 0.04}
COMPLAINT_CATEGORIES = ["垃圾清运", "电梯维保", "停车管理", "设施维修", "环境卫生", "安全秩序", "收费争议", "房屋漏水"]
_COMPLAINT_CAT_W = np.array([0.17, 0.12, 0.16, 0.18, 0.12, 0.08, 0.09, 0.08])
SURVEY_TOPICS = {"物业服务": 0.30, "环境卫生": 0.20, "网格服务": 0.20, "服务场景": 0.15, "总体评价": 0.15}
_TOPIC_EFFECT = {"物业服务": -0.25, "环境卫生": 0.0, "网格服务": 0.3, "服务场景": 0.35, "总体评价": 0.1}

_SURNAMES = list("王张李刘孙于姜曲杨赵徐陈周吴郭马高林宋郑田董滕战栾初鲁邹丛柳隋毕衣慕迟")
_GIVEN = list("秀英桂兰玉华建国志强海涛文静丽娜红梅春燕立新晓明宏伟淑芬凤霞德胜庆丰丽萍金凤永刚振东欣怡子涵浩然")
_MOBILE = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
           "156", "157", "158", "159", "166", "176", "177", "178", "180", "182", "183", "185",
           "186", "187", "188", "189", "198", "199"]

_APPEAL_TEXT = {
    "矛盾调解": ["{p}楼上楼下因漏水产生纠纷，请求社区协调", "{p}邻里因占用公共楼道堆放杂物发生矛盾",
             "{p}两户因宠物扰民多次争吵，请求调解", "{p}业主与装修队因工程款发生纠纷"],
    "环境卫生": ["{p}垃圾桶满溢无人清运，异味严重", "{p}楼道内小广告多，卫生差", "{p}绿化带内垃圾乱堆",
             "{p}门口道路有污水外溢", "{p}有居民在公共区域晾晒占道"],
    "物业管理": ["{p}电梯经常故障，物业维修不及时", "{p}物业收费不透明，要求公示收支", "{p}小区门禁损坏多日未修",
             "{p}地下车库照明灯不亮", "{p}物业保洁人员减少，楼道无人打扫"],
    "市政设施": ["{p}附近路灯不亮，夜间出行不便", "{p}门前人行道砖松动", "{p}雨水井盖缺失存在安全隐患",
             "{p}周边道路坑洼积水"],
    "噪音扰民": ["{p}夜间施工噪音扰民", "{p}广场舞音响声音过大", "{p}楼下商户深夜经营噪音大"],
    "供暖供水": ["{p}暖气不热，室温不达标", "{p}自来水水压低，高层用水困难", "{p}暖气管道漏水",
             "{p}停水未提前通知"],
    "交通出行": ["{p}门口车辆乱停堵塞消防通道", "{p}附近公交站点撤销，出行不便", "{p}路口缺少红绿灯，存在隐患"],
    "其他": ["{p}咨询老年证办理流程", "{p}反映流浪犬较多，担心伤人", "{p}咨询公积金提取事宜", "{p}建议增设健身器材"],
}

# Scenes the article names: (name, type, host compound name (None: any with a branch), events,
# median attendees, share that is 一老一小, restricted months or None).
NAMED_SCENES = [
    ("幸福拼桌", "邻里", "海景苑", 48, 40, 0.55, None),
    ("仙境睦邻集市", "邻里", "晒甲河新村", 12, 160, 0.35, None),
    ("仙阁家宴", "邻里", "碧桂园", 3, 200, 0.30, None),
    ("新馨港湾睦邻集市", "邻里", "蔚蓝彼岸", 12, 180, 0.35, None),
    ("“幸福彼岸”议事会", "邻里", "蔚蓝彼岸", 10, 25, 0.30, None),
    ("儿童心理沙盘", "教育", "宝龙国际", 10, 30, 0.95, None),
    ("随手拍环境巡查", "低碳", "宝龙国际", 20, 16, 0.50, None),
    ("老年大学进小区", "教育", None, 40, 35, 0.95, None),
    ("假期托管营", "教育", None, 24, 30, 0.95, (1, 2, 7, 8)),
    ("童心向党 筑梦成长夏令营", "教育", "东城佳苑", 32, 40, 1.0, (7, 8)),
    ("“He”合创梦便民工坊", "就业", "晒甲河新村", 24, 20, 0.25, None),
    ("“杏韵”邻里会客厅", "邻里", None, 12, 30, 0.45, None),
]
_SCENE_POOL = {
    "邻里": ["邻里百家宴", "睦邻茶话会", "楼道文化节", "邻里议事厅", "共享奶奶工作室", "邻里跳蚤市场", "红心楼栋长接待日",
           "邻里节", "幸福楼栋帮帮团", "暖心问候行动", "睦邻读书会", "邻里电影夜", "中秋团圆宴", "邻里守望巡逻队",
           "楼栋管家服务队", "邻里互助积分站", "家园议事会", "红色观影会", "邻里包饺子", "睦邻书画社", "邻里趣味运动会",
           "银龄茶座", "邻里手工坊", "家风故事会", "幸福合伙人沙龙"],
    "健康": ["健康义诊进小区", "中医理疗驿站", "慢病管理小屋", "健步走打卡", "幸福食堂", "老年助餐点", "口腔健康课堂",
           "心理疏导室", "家庭医生签约日", "太极拳晨练队", "爱眼护眼讲座", "健康膳食课堂", "颈椎保健操", "急救技能培训",
           "血压血糖测量点", "老年体检进小区", "康复理疗课堂", "健康知识讲座", "八段锦学习班", "母婴健康课堂"],
    "就业": ["家门口招聘会", "便民工坊", "巧姐钩针工作室", "灵活就业驿站", "技能培训课堂", "宝妈创业坊", "直播带货培训",
           "家政技能培训", "小家电维修铺", "缝补理发服务点"],
    "教育": ["四点半课堂", "红色故事会", "书法课堂", "非遗剪纸课", "少儿科普角", "亲子阅读会", "周末兴趣班", "国学小课堂",
           "青少年防溺水讲座", "小小志愿者营", "少儿合唱团", "暑期研学营", "非遗钩针课堂", "少儿美术班", "课业辅导站",
           "科学小实验", "儿童安全教育课", "绘本故事会", "围棋兴趣班", "老年书画班"],
    "低碳": ["垃圾分类积分兑换", "旧物置换市集", "绿植认养", "低碳骑行日", "废旧电池回收站", "厨余堆肥小花园", "节水节电宣传",
           "光盘行动", "闲置衣物捐赠", "楼顶花园共建", "绿色家庭评选", "环保酵素制作",
           "共享工具箱", "低碳知识竞赛"],
    "智慧": ["智能手机课堂", "爱心门铃", "一键呼叫服务", "智慧养老驿站", "反诈宣传课堂", "线上议事群", "健康码代办点",
           "e网通扫码报事", "智慧安防体验", "老年人网购课堂", "远程问诊服务点",
           "智能充电桩共建", "数字生活体验日", "线上缴费帮办"],
}
_SCENE_TYPE_W = {"邻里": 0.24, "健康": 0.2, "就业": 0.1, "教育": 0.2, "低碳": 0.12, "智慧": 0.14}


# --------------------------------------------------------------------------------- helpers
def _h(kind: str, name: str, alias: int = 0) -> str:
    """The Chinese header of a column (headers[0], or the given alias)."""
    for col in KINDS[kind].columns:
        if col.name == name:
            return col.headers[alias]
    raise KeyError(f"{kind}.{name}")


def _apportion(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    """Integers proportional to weights, each ≥ minimum, summing exactly to total."""
    ideal = weights / weights.sum() * total
    out = np.maximum(np.floor(ideal).astype(np.int64), minimum)
    frac = ideal - np.floor(ideal)
    diff = total - int(out.sum())
    if diff > 0:
        out[np.argsort(-frac, kind="stable")[:diff]] += 1
    while diff < 0:
        can = np.flatnonzero(out > minimum)
        take = can[np.argsort(frac[can], kind="stable")[: -diff]]
        out[take] -= 1
        diff = total - int(out.sum())
    return out


def _pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement, by weight (inverse CDF: fast and deterministic)."""
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right").clip(0, len(weights) - 1)


def _dt_series(minutes: np.ndarray, base: dt.datetime) -> pl.Series:
    """Minutes after base (NaN = empty) as a polars Datetime series."""
    epoch = int((base - dt.datetime(1970, 1, 1)).total_seconds() // 60)
    s = pl.Series("m", minutes.astype(np.float64)).fill_nan(None).cast(pl.Int64)
    return ((s + epoch) * 60_000_000).cast(pl.Datetime("us"))


FMT_ISO = "%Y-%m-%d %H:%M:%S"
FMT_SLASH = "%Y/%-m/%-d %H:%M"
FMT_CN = "%Y年%-m月%-d日 %H时%M分"


def _fmt(minutes: np.ndarray, base: dt.datetime, fmt: str, alt: np.ndarray | None = None,
         alt_fmt: str = FMT_SLASH) -> pl.Series:
    s = _dt_series(minutes, base)
    a = s.dt.strftime(fmt)
    if alt is None:
        return a
    b = s.dt.strftime(alt_fmt)
    return pl.select(pl.when(pl.Series(alt)).then(b).otherwise(a)).to_series()


def _yesno(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, "是", "否")


def _write_csv(df: pl.DataFrame, path: pathlib.Path, encoding: str) -> None:
    if encoding == "gb18030":  # as Excel on Chinese Windows saves it: GB18030 with CRLF
        path.write_bytes(df.write_csv(line_terminator="\r\n").encode("gb18030"))
    elif encoding == "utf-8-sig":
        path.write_bytes(df.write_csv().encode("utf-8-sig"))
    else:
        path.write_bytes(df.write_csv().encode("utf-8"))


def _workbook(path: pathlib.Path, end: dt.date) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(str(path))
    # A fixed creation time keeps the file byte-identical from run to run.
    wb.set_properties({"created": dt.datetime.combine(end, dt.time(0)), "author": "demo"})
    return wb


def _ids(prefix: str, years: np.ndarray, width: int) -> list[str]:
    """prefix + year + sequence within that year (rows must already be in time order)."""
    out, seq = [], {}
    for y in years.tolist():
        seq[y] = seq.get(y, 0) + 1
        out.append(f"{prefix}{y}{seq[y]:0{width}d}")
    return out


# --------------------------------------------------------------------------------- compounds
def _street_profiles(streets: list[str]) -> list[dict]:
    profs = []
    for i, s in enumerate(streets):
        p = dict(STREET_PROFILE.get(s) or dict(
            code=f"S{i + 1}", n=40, center=(120.775, 37.81), appeals=1000, resp=0.92, res=0.84,
            sat=0.0, communities=[s.replace("街道", "") + x for x in ("一社区", "二社区", "三社区")]))
        profs.append(p)
    ns = _apportion(np.array([p["n"] for p in profs], float), N_COMPOUNDS, 1)
    for p, n in zip(profs, ns):
        p["n"] = int(n)
    return profs


def _name_pool(ctype: str, rng: np.random.Generator) -> list[str]:
    if ctype == "单位家属院":
        names = [u + s for u in _UNITS for s in ("家属院", "宿舍")]
    elif ctype == "开放式楼院":
        names = [f"{r}{n}号院" for r in _ROADS for n in range(1, 60)]
    else:
        pre, suf = {"老旧小区": (_OLD_PRE, _OLD_SUF), "学区房": (_SCHOOL_PRE, _SCHOOL_SUF),
                    "回迁安置小区": (_RESETTLE_PRE, _RESETTLE_SUF)}.get(ctype, (_NEW_PRE, _NEW_SUF))
        names = [a + b for a in pre for b in suf]
    return [names[i] for i in rng.permutation(len(names))]


def _branch_name(name: str) -> str:
    return f"{name}党支部" if name.endswith(("小区", "院", "宿舍", "新村")) else f"{name}小区党支部"


def _compounds(rng: np.random.Generator, ref: dict) -> pl.DataFrame:
    streets, types = ref["streets"], ref["compound_types"]
    profs = _street_profiles(streets)
    tprof = [TYPE_PROFILE.get(t, GENERIC_TYPE) for t in types]
    tshare = np.array([p["share"] for p in tprof])
    rows = []
    used: set[str] = set()
    pools = {t: _name_pool(t, rng) for t in types}
    for si, (street, prof) in enumerate(zip(streets, profs)):
        comms = prof["communities"]
        cw = rng.uniform(0.6, 1.4, len(comms))
        named = [n for n in NAMED if n[1] == street]
        share = tshare.copy()
        if street in ("登州街道", "蓬莱阁街道"):  # the old town: more old compounds
            share[[i for i, t in enumerate(types) if t in ("老旧小区", "单位家属院")]] *= 1.3
        if street in ("南王街道", "新港街道"):
            share[[i for i, t in enumerate(types) if t == "回迁安置小区"]] *= 1.8
        n_rand = prof["n"] - len(named)
        tcount = _apportion(share, n_rand)
        entries = [(nm, comm, ctype, hh) for nm, _, comm, ctype, hh in named]
        for ti, t in enumerate(types):
            for _ in range(int(tcount[ti])):
                entries.append((None, None, t, None))
        for nm, comm, ctype, hh in entries:
            if nm is None:
                pool = pools[ctype]
                while (nm := pool.pop()) in used or any(nm == x[0] for x in NAMED):
                    pass
            used.add(nm)
            ci = comms.index(comm) if comm in comms else int(_pick(rng, cw, 1)[0])
            rows.append(dict(street_i=si, name=nm, comm_i=ci, community=comms[ci], type=ctype,
                             hh=hh, named=hh is not None))
    n = len(rows)
    df_type = np.array([r["type"] for r in rows])
    tp = [TYPE_PROFILE.get(t, GENERIC_TYPE) for t in df_type]
    med = np.array([p["hh"] for p in tp], float)
    hh = np.clip(med * np.exp(rng.normal(0, 0.5, n)), 50, 2500)
    fixed = np.array([r["named"] for r in rows])
    fixed_hh = np.array([r["hh"] or 0 for r in rows], float)
    hh[~fixed] *= (134_000 - fixed_hh.sum()) / hh[~fixed].sum()  # ~64 households a micro-grid
    hh = np.where(fixed, fixed_hh, np.clip(np.round(hh), 50, 2500)).astype(np.int64)
    per_b = np.array([rng.uniform(*p["per_bldg"]) for p in tp])
    buildings = np.maximum(1, np.round(hh / per_b)).astype(np.int64)
    micro = _apportion(hh.astype(float), N_MICRO_GRIDS, 1)

    # order within a street: grouped by community, shuffled inside; ids then run PL-DZ-001...
    street_i = np.array([r["street_i"] for r in rows])
    comm_i = np.array([r["comm_i"] for r in rows])
    order = np.lexsort((rng.random(n), comm_i, street_i))
    codes = [p["code"] for p in profs]
    ids = np.empty(n, dtype=object)
    counters: dict[int, int] = {}
    for k in order:
        s = int(street_i[k])
        counters[s] = counters.get(s, 0) + 1
        ids[k] = f"PL-{codes[s]}-{counters[s]:03d}"

    names = np.array([r["name"] for r in rows], dtype=object)
    is_named = {nm: np.flatnonzero((names == nm) & fixed) for nm, *_ in NAMED}
    lifts = np.array([p["lift"] for p in tp])

    # property companies: 50 local firms (each used at least once) + 2 brands on their compounds
    no_pm = rng.random(n) < np.array([p["no_pm"] for p in tp])
    no_pm[fixed] = False
    locals_ = [f"{'蓬莱' if i % 3 else '烟台'}{w}物业{'管理' if i % 2 else '服务'}有限公司"
               for i, w in enumerate(_PM_WORDS[:50])]
    company = np.full(n, None, dtype=object)
    for nm, firm in PM_BRANDS.items():
        company[is_named[nm]] = firm
    free = np.flatnonzero(~no_pm & (company == None))  # noqa: E711
    free = free[rng.permutation(len(free))]
    company[free[:50]] = locals_
    zipf = 1.0 / np.arange(1, 51) ** 0.7
    company[free[50:]] = np.array(locals_, dtype=object)[_pick(rng, zipf, len(free) - 50)]

    # key targets: 海景苑 + 14 old / resettlement (and 2 commodity) compounds with a company
    key = np.zeros(n, bool)
    key[is_named["海景苑"][0]] = True
    excl = fixed | (company == None)  # noqa: E711  (named ones stay out, 海景苑 is in already)
    for t, k in (("老旧小区", 8), ("回迁安置小区", 4), ("商品房小区", 2)):
        cand = np.flatnonzero((df_type == t) & ~excl & (hh >= 200))
        if len(cand) < k:
            cand = np.flatnonzero(~excl)
        pick = rng.choice(cand, size=k, replace=False, p=hh[cand] / hh[cand].sum())
        key[pick] = True
        excl[pick] = True
    k_short = N_KEY_TARGETS - int(key.sum())
    if k_short > 0:
        cand = np.flatnonzero(~excl)
        key[rng.choice(cand, k_short, replace=False)] = True

    # party branches: the named compounds, then by size
    branch = np.zeros(n, bool)
    branch[fixed] = True
    cand = np.flatnonzero(~branch)
    w = hh[cand].astype(float) ** 1.2
    branch[rng.choice(cand, N_BRANCHES - int(branch.sum()), replace=False, p=w / w.sum())] = True

    # grids: one per compound except two pairs of small neighbours sharing one (一网格多小区)
    grid_key = np.arange(n)
    small = np.flatnonzero((hh < 160) & ~fixed)
    paired: set[int] = set()
    for a in small[rng.permutation(len(small))]:
        if len(paired) == 2 * (n - N_GRIDS):
            break
        if a in paired:
            continue
        mates = [b for b in small if b != a and b not in paired and street_i[b] == street_i[a]
                 and comm_i[b] == comm_i[a]]
        if mates:
            grid_key[mates[0]] = a
            paired.update((int(a), int(mates[0])))
    grid_id = np.empty(n, dtype=object)
    gseq: dict[int, dict[int, str]] = {}
    for k in order:
        s = int(street_i[k])
        d = gseq.setdefault(s, {})
        g = int(grid_key[k])
        if g not in d:
            d[g] = f"PL-{codes[s]}-WG{len(d) + 1:03d}"
        grid_id[k] = d[g]

    # coordinates: around the community centre, inside the Penglai urban box
    lon = np.empty(n)
    lat = np.empty(n)
    rs = np.random.default_rng(SEED + 7)
    ccentre = {}
    for si, prof in enumerate(profs):
        for ci in range(len(prof["communities"])):
            ccentre[(si, ci)] = np.array(prof["center"]) + rs.normal(0, [0.0065, 0.0045])
    for k in range(n):
        c = ccentre[(int(street_i[k]), int(comm_i[k]))] + rs.normal(0, [0.0028, 0.0022])
        lon[k], lat[k] = c
    lon = np.round(np.clip(lon, 120.731, 120.819), 6)
    lat = np.round(np.clip(lat, 37.781, 37.839), 6)

    df = pl.DataFrame({
        "compound_id": ids.astype(str), "name": names.astype(str),
        "street": np.array(streets)[street_i], "community": [r["community"] for r in rows],
        "grid_id": grid_id.astype(str), "compound_type": df_type, "households": hh,
        "buildings": buildings, "micro_grids": micro,
        "property_company": pl.Series(company.tolist(), dtype=pl.String),
        "party_branch": pl.Series([_branch_name(x) if b else None for x, b in zip(names, branch)],
                                  dtype=pl.String),
        "key_target": key, "longitude": lon, "latitude": lat,
        "street_i": street_i, "lift": lifts,
    })
    return df.sort("compound_id")


def _write_compounds(df: pl.DataFrame, path: pathlib.Path, end: dt.date) -> None:
    cols = [c.name for c in KINDS["compounds"].columns]
    wb = _workbook(path, end)
    ws = wb.add_worksheet("小区台账")
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    deg = wb.add_format({"num_format": "0.000000"})
    widths = {"name": 14, "street": 12, "community": 12, "grid_id": 14, "compound_id": 12,
              "compound_type": 12, "property_company": 34, "party_branch": 20}
    for j, c in enumerate(cols):
        ws.write_string(0, j, _h("compounds", c), bold)
        ws.set_column(j, j, widths.get(c, 10))
    data = df.select(cols).rows()
    for i, row in enumerate(data, start=1):
        for j, (c, v) in enumerate(zip(cols, row)):
            if v is None:
                continue
            if c == "key_target":
                ws.write_string(i, j, "是" if v else "否")
            elif c in ("longitude", "latitude"):
                ws.write_number(i, j, v, deg)
            elif isinstance(v, int):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, v)
    ws.freeze_panes(1, 0)
    wb.close()


# --------------------------------------------------------------------------------- time axis
def _day_weights(start: dt.date, days: int, rng: np.random.Generator) -> np.ndarray:
    dates = [start + dt.timedelta(d) for d in range(days)]
    month_f = {1: 1.10, 2: 0.80, 3: 0.95, 4: 0.90, 5: 0.95, 6: 1.05, 7: 1.18, 8: 1.15, 9: 1.0,
               10: 0.92, 11: 1.08, 12: 1.12}
    m = np.array([month_f[d.month] for d in dates])
    wd = np.array([0.72 if d.weekday() >= 5 else 1.0 for d in dates])
    trend = np.linspace(0.92, 1.08, days)
    return m * wd * trend * rng.uniform(0.85, 1.15, days)


_HOUR_W = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 2.5, 5.5, 7.5, 7.5, 6.5, 4.0, 4.5, 6.5,
                    7.0, 6.5, 5.5, 4.5, 4.0, 3.5, 2.5, 1.2, 0.5])


def _minute_of_day(rng: np.random.Generator, size: int, last_day: np.ndarray, last_minute: int) -> np.ndarray:
    """Minutes into the day; on the last day spread over its first `last_minute` minutes (the
    build moment), so nothing lies ahead of it."""
    h = _pick(rng, _HOUR_W, size)
    so_far = rng.integers(0, last_minute + 1, size)
    return np.where(last_day, so_far, h * 60 + rng.integers(0, 60, size))


def _elapsed_share(last_minute: int) -> float:
    """How much of a day's appeals the last day holds when built at `last_minute`: its share of
    the day's hours so far, but at least a quarter, so that a week begun a few hours ago (Monday
    03:51) already has some appeals to show under 本周."""
    hours = np.minimum(np.maximum(last_minute + 1 - np.arange(24) * 60, 0), 60) / 60
    return max(float((_HOUR_W * hours).sum() / _HOUR_W.sum()), 0.25)


# --------------------------------------------------------------------------------- appeals
def _appeals(rng, ref, comp: pl.DataFrame, start: dt.date, end: dt.date, target_day: int, last_minute: int):
    days = (end - start).days + 1
    base = dt.datetime.combine(start, dt.time(0))
    cutoff = (days - 1) * 1440 + last_minute  # the build moment
    streets, channels = ref["streets"], ref["channels"]
    profs = _street_profiles(streets)
    dw = _day_weights(start, days, rng)
    dw[-1] *= _elapsed_share(last_minute)
    months = np.array([(start + dt.timedelta(d)).month for d in range(days)])

    counts = [p["appeals"] for p in profs]
    n = int(sum(counts))
    street = np.repeat(np.arange(len(streets)), counts)
    day = _pick(rng, dw, n)
    mins = day * 1440 + _minute_of_day(rng, n, day == days - 1, last_minute)
    order = np.argsort(mins, kind="stable")
    street, day, rec = street[order], day[order], mins[order].astype(np.float64)

    # category by month (heating in winter, noise and sanitation in summer)
    cat_m = np.tile(_APPEAL_CAT_W, (13, 1))
    for mo in range(1, 13):
        if mo in (11, 12, 1, 2, 3):
            cat_m[mo, 5] *= 2.6
        else:
            cat_m[mo, 5] *= 0.45
        if mo in (6, 7, 8, 9):
            cat_m[mo, 4] *= 1.6
            cat_m[mo, 1] *= 1.3
        if mo in (7, 8):
            cat_m[mo, 3] *= 1.3
    cum = np.cumsum(cat_m, axis=1)
    u = rng.random(n) * cum[months[day], -1]
    cat = (u[:, None] > cum[months[day]]).sum(axis=1)
    is_prop = cat == APPEAL_CATEGORIES.index("物业管理")

    chw = np.array([CHANNEL_WEIGHT.get(c, 0.05) for c in channels])
    channel = _pick(rng, chw, n)

    # compound: ~85% of appeals, weighted by households and type; property appeals lean to the
    # key targets before they were targeted
    hh = comp["households"].to_numpy().astype(float)
    tfac = np.array([TYPE_PROFILE.get(t, GENERIC_TYPE)["appeal"] for t in comp["compound_type"]])
    key = comp["key_target"].to_numpy()
    no_pm = comp["property_company"].is_null().to_numpy()
    c_street = comp["street_i"].to_numpy()
    has_c = rng.random(n) < 0.85
    cidx = np.full(n, -1)
    post = day >= target_day
    for s in range(len(streets)):
        members = np.flatnonzero(c_street == s)
        for prop in (False, True):
            for ps in (False, True):
                sel = np.flatnonzero((street == s) & has_c & (is_prop == prop) & (post == ps))
                if not len(sel):
                    continue
                w = hh[members] ** 0.8 * tfac[members]
                if prop:
                    w = w * np.where(key[members], 2.0 if ps else 4.0, 1.0) * np.where(no_pm[members], 0.3, 1.0)
                cidx[sel] = members[_pick(rng, w, len(sel))]
    comm_all = comp["community"].to_numpy()
    community = np.empty(n, dtype=object)
    community[has_c] = comm_all[cidx[has_c]]
    for s, p in enumerate(profs):
        sel = np.flatnonzero((street == s) & ~has_c)
        community[sel] = np.array(p["communities"], dtype=object)[rng.integers(0, len(p["communities"]), len(sel))]

    # the planted outbreaks (planted.json), in time order with the rest; template = the text to use
    planted, plants = _planted_appeals(comp, days, last_minute)
    template = np.full(n, -1)
    if planted:
        extra = {k: np.array([row[k] for row in planted]) for k in planted[0]}
        street = np.concatenate([street, comp["street_i"].to_numpy()[extra["cidx"]]])
        day = np.concatenate([day, extra["day"]])
        rec = np.concatenate([rec, extra["rec"].astype(np.float64)])
        cat = np.concatenate([cat, extra["cat"]])
        channel = np.concatenate([channel, np.zeros(len(planted), channel.dtype)])  # the 12345 hotline
        has_c = np.concatenate([has_c, np.ones(len(planted), bool)])
        cidx = np.concatenate([cidx, extra["cidx"]])
        community = np.concatenate([community, comm_all[extra["cidx"]]])
        template = np.concatenate([template, extra["template"]])
        order = np.argsort(rec, kind="stable")
        street, day, rec, cat, channel, has_c, cidx, community, template = (
            x[order] for x in (street, day, rec, cat, channel, has_c, cidx, community, template))
        is_prop = cat == APPEAL_CATEGORIES.index("物业管理")
        n = len(rec)

    # the five steps, in minutes after midnight of the first day
    resp_p = np.array([p["resp"] for p in profs])[street]
    res_p = np.array([p["res"] for p in profs])[street]
    disp = rec + np.clip(np.round(rng.lognormal(math.log(18), 0.7, n)), 2, 240)
    in_resp = rng.random(n) < resp_p
    f_late = 1440 + np.minimum(rng.exponential(900, n), 6 * 1440)
    f_ok = np.minimum(disp - rec + rng.exponential(170, n), 1439)
    first = rec + np.round(np.where(in_resp, f_ok, f_late))
    in_res = (rng.random(n) < res_p) & (first - rec < 2880 - 30)
    r_ok = (first - rec) + (2880 - 1 - (first - rec)) * rng.beta(1.4, 2.6, n)
    r_late = np.maximum(first - rec, 2880) + np.minimum(rng.lognormal(math.log(1300), 1.0, n), 45 * 1440)
    resolved = rec + np.round(np.where(in_res, r_ok, r_late))
    fb_gap = np.where(rng.random(n) < 0.9, rng.exponential(300, n), rng.uniform(1440, 5000, n))
    feedback = resolved + np.round(30 + fb_gap)
    closed = feedback + np.round(rng.uniform(30, 2880, n))
    # still open: stuck cases, most of them recent; a hard case is settled within months, not left a year
    age = days - 1 - day
    stuck = rng.random(n) < (0.008 * np.exp(-age / 90.0) + 0.35 * np.exp(-age / 18.0)) * (1 - res_p) / 0.11
    resolved[stuck] = np.nan
    for arr in (disp, first, resolved, feedback, closed):
        arr[arr > cutoff] = np.nan
    for later, earlier in ((first, disp), (resolved, first), (feedback, resolved), (closed, feedback)):
        later[np.isnan(earlier)] = np.nan

    # evaluation: ~80% of those with feedback; slow ones and some streets rate lower
    sat_shift = np.array([p["sat"] for p in profs])[street]
    late = ~np.isnan(resolved) & (resolved - rec > 2880)
    p_sat = np.clip(0.72 + sat_shift - np.where(late, 0.2, 0), 0.3, 0.95)
    p_basic = np.where(late, 0.25, 0.17)
    u = rng.random(n)
    satisfaction = np.where(u < p_sat, "满意", np.where(u < p_sat + p_basic, "基本满意", "不满意")).astype(object)
    rated = ~np.isnan(feedback) & (rng.random(n) < 0.80)
    satisfaction[~rated] = None

    g1, g2 = rng.integers(0, len(_GIVEN), (2, n))
    two = rng.random(n) < 0.7
    names = [_SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if t else "")
             for s, a, b, t in zip(rng.integers(0, len(_SURNAMES), n), g1, g2, two)]
    phones = [p + f"{x:08d}" for p, x in zip(np.array(_MOBILE)[rng.integers(0, len(_MOBILE), n)],
                                             rng.integers(0, 10**8, n))]
    cnames = comp["name"].to_numpy()
    place = np.where(has_c, cnames[np.maximum(cidx, 0)], community).astype(str)
    tpl_i = rng.integers(0, 100, n)
    extra = rng.random(n)
    content = []
    for i in range(n):
        opts = _APPEAL_TEXT[APPEAL_CATEGORIES[cat[i]]]
        text = opts[(template[i] if template[i] >= 0 else tpl_i[i]) % len(opts)].format(p=place[i])
        if extra[i] < 0.035:
            text += f"，联系电话{_MOBILE[tpl_i[i] % len(_MOBILE)]}{(i * 7919) % 10**8:08d}，请尽快回电"
        elif extra[i] < 0.05:
            text += f"，本人身份证号{_id_card(rng)}，请核实处理"
        content.append(text)

    years = np.array([(base + dt.timedelta(minutes=float(m))).year for m in rec])
    ids = np.array(_ids("EWT", years, 6))
    return dict(n=n, ids=ids, street=street, day=day, rec=rec, disp=disp, first=first, resolved=resolved,
                feedback=feedback, closed=closed, cat=cat, is_prop=is_prop, channel=channel,
                cidx=cidx, has_c=has_c, community=community, satisfaction=satisfaction,
                caller=names, phone=phones, content=content, base=base, days=days, plants=plants)


# --------------------------------------------------------------------------------- planted outbreaks
# Known outbreaks on the quiet background, for the early warnings to find (metrics/alerts.py never
# reads what was planted; bench/bench_alerts.py and data/demo/planted.json do). Each: the days
# before the end it covers (oldest first) and how many records on each.
PLANTED = "planted.json"
HEATING_JUMP = [1, 3, 2, 2, 3, 1, 2, 2, 1, 2, 1, 2, 1, 1]  # 供暖供水 appeals over the last fortnight
REPEAT_CHAIN_EVERY = 7  # one 噪音扰民 appeal of the same words a week, four times
COMPLAINT_CLIMB = [1, 0, 1, 1, 2, 1, 2, 2, 2, 3]  # complaints over the last ten days


def _plant_candidates(comp: pl.DataFrame, avoid: np.ndarray | None = None) -> np.ndarray:
    """Ordinary compounds (no key target, no named or showcase one, with a property company)."""
    names = comp["name"].to_numpy()
    ok = (~comp["key_target"].to_numpy() & comp["property_company"].is_not_null().to_numpy()
          & ~np.isin(names, [n[0] for n in NAMED]) & (comp["households"].to_numpy() >= 150))
    if avoid is not None:
        ok[avoid] = False
    return np.flatnonzero(ok)


def _plant_record(comp: pl.DataFrame, ci: int, feed: str, category: str | None, day0: dt.date, day1: dt.date,
                  records: int, what: str) -> dict:
    """kind: an outbreak (for the alarms) or a repeat chain (for the repeats)."""
    row = comp.row(int(ci), named=True)
    kind = "repeat_chain" if "重复" in what else "outbreak"
    return {"kind": kind, "feed": feed, "place_id": row["compound_id"], "place_name": row["name"], "street": row["street"],
            "category": category, "onset": day0.isoformat(), "last_day": day1.isoformat(), "records": records,
            "what": what}


def _planted_appeals(comp: pl.DataFrame, days: int, last_minute: int) -> tuple[list[dict], list[tuple]]:
    """The planted appeals (rows for _appeals) and what they are: (feed, compound index, category,
    first day index, last day index, records, description)."""
    rng = np.random.default_rng(SEED + 14)
    cand = _plant_candidates(comp)
    heat_c, chain_c = (int(x) for x in rng.choice(cand, 2, replace=False))
    rows: list[dict] = []

    def add(ci: int, d: int, category: str, template: int) -> None:
        minute = int(rng.integers(0, last_minute + 1)) if d == days - 1 else int(rng.integers(8 * 60, 20 * 60))
        rows.append(dict(cidx=ci, day=d, rec=d * 1440 + minute, cat=APPEAL_CATEGORIES.index(category),
                         template=template))

    first = days - len(HEATING_JUMP)
    for k, count in enumerate(HEATING_JUMP):
        for _ in range(count):
            add(heat_c, first + k, "供暖供水", int(rng.integers(0, 4)))
    chain_days = [days - 1 - REPEAT_CHAIN_EVERY * k for k in (3, 2, 1, 0)]
    for d in chain_days:
        add(chain_c, d, "噪音扰民", 0)
    return rows, [("appeals", heat_c, "供暖供水", first, days - 1, sum(HEATING_JUMP),
                   "供暖诉求在最近两周陡增"),
                  ("appeals", chain_c, "噪音扰民", chain_days[0], chain_days[-1], len(chain_days),
                   "同一小区同一内容每周重复反映(重复诉求链)")]


def _id_card(rng: np.random.Generator) -> str:
    region = ["370614", "370684", "370612", "370602"][int(rng.integers(0, 4))]
    born = dt.date(1950, 1, 1) + dt.timedelta(int(rng.integers(0, 18000)))
    body = f"{region}{born:%Y%m%d}{int(rng.integers(0, 1000)):03d}"
    wts = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, wts)) % 11]


def _status(resolved: np.ndarray, closed: np.ndarray) -> np.ndarray:
    return np.where(~np.isnan(closed), "已结案", np.where(~np.isnan(resolved), "已办结", "办理中"))


def _write_appeals(a: dict, comp: pl.DataFrame, ref: dict, out_dir: pathlib.Path,
                   end: dt.date, rng: np.random.Generator) -> list[pathlib.Path]:
    n, base, days = a["n"], a["base"], a["days"]
    split = (days // 2) * 1440  # the first extract was taken at midnight mid-year
    ids = a["ids"]
    cids = comp["compound_id"].to_numpy()
    cnames = comp["name"].to_numpy()
    streets = np.array(ref["streets"])
    channels = np.array(ref["channels"])

    def frame(idx: np.ndarray, times: dict, snapshot_at: float | None, with_name: bool,
              alt: np.ndarray | None) -> pl.DataFrame:
        t = {k: v[idx].copy() for k, v in times.items()}
        sat = a["satisfaction"][idx].copy()
        if snapshot_at is not None:  # what the system showed at the moment of the extract
            for k in ("disp", "first", "resolved", "feedback", "closed"):
                t[k][t[k] > snapshot_at] = np.nan
            sat[np.isnan(t["feedback"])] = None
        has_c = a["has_c"][idx]
        ci = np.maximum(a["cidx"][idx], 0)
        code = np.where(has_c, cids[ci], None)
        name = np.where(has_c, cnames[ci], None)
        cols = {
            "appeal_id": ids[idx], "channel": channels[a["channel"][idx]],
            "category": np.array(APPEAL_CATEGORIES)[a["cat"][idx]],
            "received_at": t["rec"], "street": streets[a["street"][idx]],
            "community": a["community"][idx], "compound_id": code, "compound_name": name,
            "dispatched_at": t["disp"], "first_response_at": t["first"],
            "resolved_at": t["resolved"], "feedback_at": t["feedback"], "closed_at": t["closed"],
            "status": _status(t["resolved"], t["closed"]), "satisfaction": sat,
            "is_property": _yesno(a["is_prop"][idx]),
            "caller_name": np.array(a["caller"], dtype=object)[idx],
            "caller_phone": np.array(a["phone"], dtype=object)[idx],
            "content": np.array(a["content"], dtype=object)[idx],
        }
        if with_name:
            # some rows name the compound only by name (an older system exports no code)
            only_name = has_c & (rng.random(len(idx)) < 0.2)
            cols["compound_id"] = np.where(only_name, None, code)
        else:
            del cols["compound_name"]
        out = {}
        for c in KINDS["appeals"].columns:
            if c.name not in cols:
                continue
            v = cols[c.name]
            if c.type == "datetime":
                out[_h("appeals", c.name)] = _fmt(v, base, FMT_ISO, alt)
            else:
                out[_h("appeals", c.name)] = pl.Series(list(v), dtype=pl.String)
        return pl.DataFrame(out)

    times = {"rec": a["rec"], "disp": a["disp"], "first": a["first"], "resolved": a["resolved"],
             "feedback": a["feedback"], "closed": a["closed"]}
    first_half = np.flatnonzero(a["rec"] < split)
    second_half = np.flatnonzero(a["rec"] >= split)
    # orders of the first half still moving at the split appear again, updated, in the second
    last = np.fmax.reduce([times[k][first_half] for k in times])
    moving = first_half[last > split]
    part_b = np.concatenate([moving, second_half])

    df_a = frame(first_half, times, split, False, None)
    slash = rng.random(len(part_b)) < 0.25
    df_b = frame(part_b, times, None, True, slash)

    # deliberately bad rows (documented in data/README.md): ids EWT<year>99000x
    yr = end.year
    bad_src_a = first_half[rng.choice(len(first_half), 4, replace=False)]
    bad_src_b = second_half[rng.choice(len(second_half), 6, replace=False)]
    bad_a = frame(np.sort(bad_src_a), times, split, False, None)
    bad_a = bad_a.with_columns(
        pl.Series(_h("appeals", "appeal_id"), [f"EWT{yr}{990000 + i}" for i in range(1, 5)]),
        pl.lit("微信群").alias(_h("appeals", "channel")))
    bad_b = frame(np.sort(bad_src_b), times, None, True, None)
    rec_col, res_col = _h("appeals", "received_at"), _h("appeals", "resolved_at")
    back = _fmt(a["rec"][np.sort(bad_src_b)] - 1620, base, FMT_ISO)
    bad_b = bad_b.with_columns(
        pl.Series(_h("appeals", "appeal_id"), [f"EWT{yr}{990000 + i}" for i in range(5, 11)]),
        pl.Series(res_col, [*back.to_list()[:3], *bad_b[res_col].to_list()[3:]]),
        pl.Series(rec_col, [*bad_b[rec_col].to_list()[:3], *[f"{yr}-13-45 09:30:00"] * 3]),
    )
    df_a = _insert_rows(df_a, bad_a, rng)
    df_b = _insert_rows(df_b, bad_b, rng)

    pa = out_dir / "02_appeals_a_utf8bom.csv"
    pb = out_dir / "03_appeals_b_gb18030.csv"
    _write_csv(df_a, pa, "utf-8-sig")
    _write_csv(df_b, pb, "gb18030")
    return [pa, pb]


def _insert_rows(df: pl.DataFrame, bad: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Scatter bad rows through a frame at fixed random positions."""
    pos = np.sort(rng.choice(df.height, bad.height, replace=False))
    key = np.concatenate([np.arange(df.height) * 2.0, pos * 2.0 + 1])
    both = pl.concat([df, bad.select(df.columns)])
    return both.with_columns(pl.Series("_k", key)).sort("_k").drop("_k")


# --------------------------------------------------------------------------------- complaints
def _complaints(rng, comp: pl.DataFrame, app: dict, start: dt.date, end: dt.date,
                target_day: int, out_dir: pathlib.Path, ref: dict, last_minute: int) -> tuple[pathlib.Path, list]:
    days = (end - start).days + 1
    base = dt.datetime.combine(start, dt.time(0))
    cutoff = (days - 1) * 1440 + last_minute
    hh = comp["households"].to_numpy().astype(float)
    key = comp["key_target"].to_numpy()
    no_pm = comp["property_company"].is_null().to_numpy()
    lift = comp["lift"].to_numpy()
    names = comp["name"].to_numpy()
    hj = int(np.flatnonzero(names == "海景苑")[0])
    t = np.arange(days, dtype=float)

    # emerging hot spots: smaller compounds with a company, rising over the last 100 days
    cand = np.flatnonzero(~key & ~no_pm & (hh >= 150) & (hh <= 600) & ~np.isin(names, list(SHOWCASE)))
    emerging = rng.choice(cand, 8, replace=False)
    lam = np.outer(hh / 100 * 0.38 / 365 * np.where(no_pm, 0.5, 1.0), np.ones(days))
    pre = (t < target_day).astype(float)
    post_decay = np.where(t >= target_day, np.exp(-(t - target_day) / 70.0), 0)
    lam[key] = 0.165 * pre + (0.03 + 0.09 * post_decay)
    ramp = np.clip((t - (days - 100)) / 100.0, 0, 1)
    lam[emerging] += 0.21 * ramp
    lam[hj] = 0
    cnt = rng.poisson(lam)
    # planted: one ordinary compound's complaints climb over the last ten days
    climb = int(np.random.default_rng(SEED + 15).choice(_plant_candidates(comp, emerging)))
    cnt[climb, days - len(COMPLAINT_CLIMB):] += COMPLAINT_CLIMB
    plants = [("complaints", climb, None, days - len(COMPLAINT_CLIMB), days - 1, sum(COMPLAINT_CLIMB),
               "物业投诉在最近十天持续攀升")]
    ci, di = np.nonzero(cnt)
    reps = cnt[ci, di]
    ci, di = np.repeat(ci, reps), np.repeat(di, reps)
    # 海景苑: exactly 51, the 4 latest still open
    hj_days = np.sort(_pick(rng, 0.165 * pre + (0.03 + 0.09 * post_decay), HAIJINGYUAN_SOLVED + HAIJINGYUAN_OPEN))
    ci = np.concatenate([ci, np.full(len(hj_days), hj)])
    di = np.concatenate([di, hj_days])
    n = len(ci)
    minute = np.where(di == days - 1, rng.integers(0, last_minute + 1, n), rng.integers(7 * 60 + 30, 19 * 60, n))
    rec = (di * 1440 + minute).astype(float)
    order = np.lexsort((ci, rec))
    ci, di, rec = ci[order], di[order], rec[order]

    w = np.tile(_COMPLAINT_CAT_W, (n, 1))
    w[~lift[ci], 1] = 0
    cum = np.cumsum(w, axis=1)
    cat = (rng.random(n)[:, None] * cum[:, -1:] > cum).sum(axis=1)
    is_hj = ci == hj
    hj_cats = (["垃圾清运"] * 14 + ["电梯维保"] * 12 + ["停车管理"] * 8 + ["设施维修"] * 8 + ["环境卫生"] * 4
               + ["收费争议"] * 3 + ["安全秩序"] * 2)
    cat[is_hj] = [COMPLAINT_CATEGORIES.index(x) for x in np.array(hj_cats)[rng.permutation(len(hj_cats))]]

    levels = ref["complaint_levels"]
    lw = np.array([0.68, 0.20, 0.09, 0.03][: len(levels)] + [0.02] * max(0, len(levels) - 4))
    lvl = _pick(rng, lw, n)
    esc = key[ci] & (di < target_day) & (rng.random(n) < 0.25)  # key targets escalated before
    lvl[esc] = np.minimum(lvl[esc] + 1, len(levels) - 1)
    three = np.zeros(n, bool)
    c0 = np.flatnonzero(lvl == 0)
    tw = np.where(key[ci[c0]] & (di[c0] >= target_day - 30), 4.0, 1.0)
    three[rng.choice(c0, N_THREE_PARTY, replace=False, p=tw / tw.sum())] = True

    med_days = np.array([2.0, 4.0, 7.0, 12.0, 12.0])[np.minimum(lvl, 4)]
    delay = np.round(rng.lognormal(np.log(med_days * 1440), 0.8))
    resolved = rec + np.maximum(delay, 60)
    age = days - 1 - di
    stuck = rng.random(n) < 0.06 + 0.35 * np.exp(-age / 30.0)
    resolved[(resolved > cutoff) | stuck] = np.nan
    # 海景苑: 47 solved within the year, its 4 latest open
    hj_rows = np.flatnonzero(is_hj)
    resolved[hj_rows[-HAIJINGYUAN_OPEN:]] = np.nan
    solved = hj_rows[:-HAIJINGYUAN_OPEN]
    r = rec[solved] + np.maximum(np.round(rng.lognormal(np.log(3 * 1440), 0.7, len(solved))), 60)
    resolved[solved] = np.minimum(np.minimum(r, np.maximum(cutoff - 30, rec[solved] + 30)), cutoff)

    years = np.array([(base + dt.timedelta(minutes=float(m))).year for m in rec])
    ids = _ids("TS", years, 5)
    cids = comp["compound_id"].to_numpy()
    companies = comp["property_company"].to_numpy()
    pm = np.where(rng.random(n) < 0.1, companies[ci], None)

    # link some complaints to a property appeal of the same compound in the 14 days before
    link = np.full(n, None, dtype=object)
    aprop = np.flatnonzero(app["is_prop"] & app["has_c"])
    a_ids = app["ids"]
    by_c: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for c in np.unique(app["cidx"][aprop]):
        sel = aprop[app["cidx"][aprop] == c]
        by_c[int(c)] = (app["rec"][sel], sel)
    want = rng.random(n) < 0.3
    for i in np.flatnonzero(want):
        if int(ci[i]) not in by_c:
            continue
        recs, sel = by_c[int(ci[i])]
        j = np.searchsorted(recs, rec[i], side="right") - 1
        if j >= 0 and rec[i] - recs[j] <= 14 * 1440:
            link[i] = a_ids[sel[j]]

    kind = "complaints"
    df = pl.DataFrame({
        _h(kind, "complaint_id"): ids,
        _h(kind, "compound_id"): cids[ci].astype(str),
        _h(kind, "property_company"): pl.Series(pm.tolist(), dtype=pl.String),
        _h(kind, "category"): np.array(COMPLAINT_CATEGORIES)[cat],
        _h(kind, "received_at"): _fmt(rec, base, FMT_CN),
        _h(kind, "level"): np.array(levels)[lvl],
        _h(kind, "three_party"): _yesno(three),
        _h(kind, "resolved_at"): _fmt(resolved, base, FMT_CN),
        _h(kind, "source_appeal_id"): pl.Series(link.tolist(), dtype=pl.String),
    })
    # deliberately bad rows: unknown compound codes
    yr = end.year
    bad_src = df.sample(3, seed=int(rng.integers(0, 2**31)))
    bad = bad_src.with_columns(
        pl.Series(_h(kind, "complaint_id"), [f"TS{yr}9900{i}" for i in range(1, 4)]),
        pl.Series(_h(kind, "compound_id"), ["PL-DZ-999", "PL-XG-000", "PL-XX-017"]),
        pl.lit(None, dtype=pl.String).alias(_h(kind, "source_appeal_id")),
        pl.lit("否").alias(_h(kind, "three_party")),
    )
    df = _insert_rows(df, bad, rng)
    path = out_dir / "04_complaints_gb18030.csv"
    _write_csv(df, path, "gb18030")
    return path, plants


# --------------------------------------------------------------------------------- surveys
def _surveys(rng, comp: pl.DataFrame, start: dt.date, end: dt.date, target_day: int,
             out_dir: pathlib.Path, ref: dict) -> pathlib.Path:
    days = (end - start).days + 1
    n = 6000
    dates = [start + dt.timedelta(d) for d in range(days)]
    # quarterly campaigns: the last month of each quarter counts double
    dw = np.array([2.2 if d.month in (3, 6, 9, 12) else 1.0 for d in dates])
    dw *= np.array([0.5 if d.weekday() >= 5 else 1.0 for d in dates])
    day = np.sort(_pick(rng, dw, n))
    hh = comp["households"].to_numpy().astype(float)
    key = comp["key_target"].to_numpy()
    ci = _pick(rng, np.sqrt(hh) * np.where(key, 2.5, 1.0), n)
    topics = list(SURVEY_TOPICS)
    ti = _pick(rng, np.array(list(SURVEY_TOPICS.values())), n)

    street_shift = np.array([STREET_PROFILE.get(s, {}).get("sat", 0.0) for s in ref["streets"]]) * 4
    quality = rng.normal(0, 0.35, comp.height)
    quality += street_shift[comp["street_i"].to_numpy()]
    quality -= np.where(comp["compound_type"].to_numpy() == "老旧小区", 0.2, 0)
    quality -= np.where(comp["property_company"].is_null().to_numpy(), 0.15, 0)
    topic_eff = np.array([_TOPIC_EFFECT.get(t, 0.0) for t in topics])
    t_rel = day - target_day
    key_eff = np.where(t_rel < 0, -1.0, -1.0 + 1.1 * np.clip(t_rel / 120.0, 0, 1))
    key_eff = key_eff * np.where(np.isin(ti, [topics.index("物业服务"), topics.index("环境卫生")]), 1.0, 0.6)
    q = quality[ci] + topic_eff[ti] + np.where(key[ci], key_eff, 0) + rng.normal(0, 0.8, n)
    score = np.digitize(q, [-1.55, -1.0, -0.15, 0.75]) + 1
    rating = np.array(ref["ratings"])[np.select([score >= 4, score == 3], [0, 1], 2)]
    use_score = rng.random(n) < 0.5

    years = np.array([dates[d].year for d in day])
    kind = "surveys"
    df = pl.DataFrame({
        _h(kind, "response_id", 1): _ids("WJ", years, 6),  # alias header 答卷编号
        _h(kind, "surveyed_at", 1): [dates[d].isoformat() for d in day],  # alias header 测评日期
        _h(kind, "compound_id"): comp["compound_id"].to_numpy()[ci],
        _h(kind, "topic"): np.array(topics)[ti],
        _h(kind, "score"): pl.Series(np.where(use_score, score.astype(str), None).tolist(), dtype=pl.String),
        _h(kind, "rating"): pl.Series(np.where(use_score, None, rating).tolist(), dtype=pl.String),
    })
    path = out_dir / "05_surveys_utf8.csv"
    _write_csv(df, path, "utf-8")
    return path


# --------------------------------------------------------------------------------- scenes
def _scenes(rng, comp: pl.DataFrame, start: dt.date, end: dt.date, out_dir: pathlib.Path,
            ref: dict) -> pathlib.Path:
    days = (end - start).days + 1
    dates = [start + dt.timedelta(d) for d in range(days)]
    months = np.array([d.month for d in dates])
    weekend = np.array([d.weekday() >= 5 for d in dates])
    names = comp["name"].to_numpy()
    streets = comp["street"].to_numpy()
    branch = comp["party_branch"].to_numpy()
    has_b = np.flatnonzero(comp["party_branch"].is_not_null().to_numpy())
    types = ref["scene_types"]

    def host(nm: str | None) -> int:
        if nm is None:
            return int(rng.choice(has_b))
        return int(np.flatnonzero((names == nm) & (streets == _NAMED_STREET[nm]))[0])

    scenes = []
    for nm, st, h, k, med, oy, mo in NAMED_SCENES:
        scenes.append(dict(name=nm, type=st, host=host(h), k=k, med=med, oy=oy, months=mo))
    # the others: drawn by type from the pool, hosted by branches not yet hosting (then any)
    tw = np.array([_SCENE_TYPE_W.get(t, 0.15) for t in types])
    need = N_SCENES - len(scenes)
    tcount = _apportion(tw, need)
    hosted = {s["host"] for s in scenes}
    free = [int(x) for x in has_b[rng.permutation(len(has_b))] if int(x) not in hosted]
    freq_opts = np.array([4, 6, 8, 12, 12, 12, 24, 26, 40])
    for ti, t in enumerate(types):
        pool = _SCENE_POOL.get(t, [f"{t}服务{i}" for i in range(30)])
        taken = {x["name"] for x in scenes}
        pool = [x for x in pool if x not in taken]
        picks = [pool[i] for i in rng.permutation(len(pool))[: int(tcount[ti])]]
        picks += [f"{t}服务日{i + 1}" for i in range(int(tcount[ti]) - len(picks))]
        for nm in picks:
            hst = free.pop() if free and rng.random() < 0.8 else int(rng.choice(has_b))
            oy = {"教育": 0.85, "健康": 0.65, "智慧": 0.6}.get(t, 0.3)
            scenes.append(dict(name=nm, type=t, host=hst, k=int(rng.choice(freq_opts)),
                               med=float(rng.choice([18, 25, 30, 40, 60, 80])), oy=oy, months=None))
    # scale the free frequencies so the year holds ~1,500 events
    fixed_k = sum(s["k"] for s in scenes[: len(NAMED_SCENES)])
    free_k = np.array([s["k"] for s in scenes[len(NAMED_SCENES):]], float)
    free_k = np.maximum(2, np.round(free_k * (1500 - fixed_k) / free_k.sum())).astype(int)
    for s, k in zip(scenes[len(NAMED_SCENES):], free_k):
        s["k"] = int(k)

    rows = []
    for s in scenes:
        allowed = np.ones(days, bool) if s["months"] is None else np.isin(months, s["months"])
        cand = np.flatnonzero(allowed)
        k = min(s["k"], len(cand))
        w = np.where(weekend[cand], 2.0, 1.0)
        ev_days = np.sort(rng.choice(cand, k, replace=False, p=w / w.sum()))
        att = np.clip(np.round(s["med"] * np.exp(rng.normal(0, 0.35, k))), 10, 300).astype(int)
        if s["name"] == "仙阁家宴":
            att[int(np.argmax(att))] = 986  # "近千名" — once
        oy = np.minimum(att, np.round(att * s["oy"] * rng.uniform(0.8, 1.1, k))).astype(int)
        vol = np.maximum(1, np.round(att * rng.uniform(0.05, 0.15, k))).astype(int)
        if s["name"] == "新馨港湾睦邻集市":
            vol = np.maximum(vol, 21)  # 21 stalls of volunteers
        org = "东城社区党委" if s["name"].startswith("童心向党") else branch[s["host"]]
        named = s in scenes[: len(NAMED_SCENES)]
        for d, a_, o_, v_ in zip(ev_days, att, oy, vol):
            rows.append((int(d), s["name"], s["type"], s["host"], int(a_), int(v_), int(o_), org, named))
    rows.sort(key=lambda r: (r[0], r[1]))
    # the other scenes' 一老一小 scaled so the year holds ~16,500 (article: 1.5万余人次)
    oy_all = np.array([r[6] for r in rows])
    att_all = np.array([r[4] for r in rows])
    named_m = np.array([r[8] for r in rows])
    factor = (16_500 - oy_all[named_m].sum()) / oy_all[~named_m].sum()
    oy_all = np.where(named_m, oy_all, np.minimum(att_all, np.round(oy_all * factor))).astype(int)

    cids = comp["compound_id"].to_numpy()
    years = np.array([dates[r[0]].year for r in rows])
    ev_ids = _ids("HD", years, 5)
    kind = "scenes"
    cols = ["event_id", "event_date", "scene_name", "scene_type", "compound_id", "attendees",
            "volunteers", "old_young", "organizer"]
    path = out_dir / "06_scenes.xlsx"
    wb = _workbook(path, end)
    ws = wb.add_worksheet("服务场景活动")
    bold = wb.add_format({"bold": True, "bg_color": "#E2EFDA", "border": 1})
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, c in enumerate(cols):
        ws.write_string(0, j, _h(kind, c), bold)
        ws.set_column(j, j, {"scene_name": 26, "organizer": 22, "event_date": 12}.get(c, 11))
    for i, r in enumerate(rows, start=1):
        d, nm, st, hst, att, vol, _, org, _ = r
        ws.write_string(i, 0, ev_ids[i - 1])
        ws.write_datetime(i, 1, dt.datetime.combine(dates[d], dt.time(0)), datef)
        ws.write_string(i, 2, nm)
        ws.write_string(i, 3, st)
        ws.write_string(i, 4, str(cids[hst]))
        ws.write_number(i, 5, att)
        ws.write_number(i, 6, vol)
        ws.write_number(i, 7, int(oy_all[i - 1]))
        ws.write_string(i, 8, org)
    ws.freeze_panes(1, 0)
    wb.close()
    return path


_NAMED_STREET = {"海景苑": "登州街道", "东城佳苑": "登州街道", "宝龙国际": "蓬莱阁街道",
                 "碧桂园": "蓬莱阁街道", "晒甲河新村": "紫荆山街道", "蔚蓝彼岸": "新港街道"}


# --------------------------------------------------------------------------------- entry point
def target_date(end: dt.date) -> dt.date:
    """The day the 15 key targets were targeted: the 1st of the month five months before end."""
    m = end.month - 5
    y = end.year + (m - 1) // 12
    return dt.date(y, (m - 1) % 12 + 1, 1)


def write_demo_files(out_dir: pathlib.Path, end: dt.date, until: dt.datetime | None = None
                     ) -> list[tuple[str, pathlib.Path]]:
    """Write the demo extracts for the 365 days ending at `end` into out_dir, no timestamp later
    than `until` (a moment on `end`; default its 23:59).

    Returns (kind, path) pairs in load order: compounds, appeals (two extracts), complaints,
    surveys, scenes. The same `end` and `until` always give byte-identical files. What was planted
    for the early warnings to find is written beside them, to planted.json.
    """
    until = until or dt.datetime.combine(end, dt.time(23, 59))
    if until.date() != end:
        raise ValueError(f"until ({until}) must fall on end ({end})")
    last_minute = until.hour * 60 + until.minute
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = reference()
    start = end - dt.timedelta(days=364)
    tday = (target_date(end) - start).days
    # one generator per part, so changing one part leaves the others as they were
    seeds = np.random.SeedSequence(SEED).spawn(5)
    r_comp, r_app, r_cmp, r_srv, r_scn = (np.random.default_rng(s) for s in seeds)

    comp = _compounds(r_comp, ref)
    p_comp = out_dir / "01_compounds.xlsx"
    _write_compounds(comp, p_comp, end)

    app = _appeals(r_app, ref, comp, start, end, tday, last_minute)
    p_app = _write_appeals(app, comp, ref, out_dir, end, r_app)

    p_cmp, plants = _complaints(r_cmp, comp, app, start, end, tday, out_dir, ref, last_minute)
    planted = [_plant_record(comp, ci, feed, category, start + dt.timedelta(d0), start + dt.timedelta(d1), records, what)
               for feed, ci, category, d0, d1, records, what in app["plants"] + plants]
    (out_dir / PLANTED).write_text(json.dumps(planted, ensure_ascii=False, indent=1), encoding="utf-8")
    p_srv = _surveys(r_srv, comp, start, end, tday, out_dir, ref)
    p_scn = _scenes(r_scn, comp, start, end, out_dir, ref)
    return [("compounds", p_comp), ("appeals", p_app[0]), ("appeals", p_app[1]),
            ("complaints", p_cmp), ("surveys", p_srv), ("scenes", p_scn)]


if __name__ == "__main__":  # python -m demo.generate OUT_DIR [YYYY-MM-DD]
    import sys

    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "demo")
    end_day = dt.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else local_now().date()
    for k, p in write_demo_files(out, end_day):
        print(f"{k:11s} {p}  {p.stat().st_size:,} bytes")
