"""Realistic appeal texts for the demo county, written for Kuaiban (no third-party corpus).

Each template names its subject (level-1 category), the unit that usually leads, the kinds it
comes as, a title and a content with placeholders filled from the pools below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    category: str
    unit: str
    kinds: tuple[str, ...]
    title: str
    content: str
    enterprise: bool = False
    # Months (1–12) in which this problem comes far more often (heating in winter, wage arrears
    # before the Spring Festival), and how many times more: the demo ledger has seasons, so the
    # forecast (民情月历) has something to foresee.
    peak: tuple[int, ...] = ()
    peak_weight: int = 6


TEMPLATES: tuple[Template, ...] = (
    Template(
        "城乡建设",
        "zjj",
        ("complaint", "help"),
        "{estate}小区暖气不热",
        "我是{estate}{building}号楼住户，入冬以来家里暖气片一直是温的，室温只有{temp}度左右，"
        "家里有老人和小孩，晚上冻得睡不着。给供热公司打过{n}次电话，一直说在排查，"
        "至今没有解决，希望相关部门督促供热公司尽快上门维修。",
        peak=(11, 12, 1, 2),
    ),
    Template(
        "城乡建设",
        "zjj",
        ("complaint",),
        "{estate}供暖费收了却不供暖",
        "{estate}小区今年{month}月就交了供暖费，每平方{price}元，可是到现在{building}号楼"
        "还有好几户不热，物业和热力站互相推诿。请求住建部门协调，给个明确的维修时间。",
        peak=(11, 12, 1, 2),
    ),
    Template(
        "城乡建设",
        "zjj",
        ("complaint", "help"),
        "{estate}电梯频繁故障",
        "{estate}{building}号楼电梯这个月已经坏了{n}次，上周还困过人，"
        "住在高层的老人只能爬楼。物业说维修资金申请不下来，希望尽快协调维保单位彻底检修。",
    ),
    Template(
        "城乡建设",
        "zjj",
        ("complaint",),
        "{estate}开发商逾期交房",
        "我在{estate}项目买的房子合同约定{month}月底交房，现在已经逾期{n}个月，"
        "开发商一直没有明确答复，工地基本停工。我们每月还着房贷还要租房住，恳请政府介入。",
    ),
    Template(
        "城乡建设",
        "cgj",
        ("complaint",),
        "{road}夜间施工噪音扰民",
        "{road}附近的工地每天晚上十一点以后还在打桩、运渣土，噪音非常大，"
        "周边居民休息受到严重影响，已经持续{n}周了，请城管部门依法查处。",
    ),
    Template(
        "城乡建设",
        "cgj",
        ("complaint", "report"),
        "{road}占道经营严重",
        "{road}与{road2}交叉口一带每天早上摊贩占道经营，把人行道和一半车道都占了，"
        "学生上学很不安全，垃圾也乱扔，希望城管加强管理。",
    ),
    Template(
        "城乡建设",
        "cgj",
        ("help",),
        "{village}路灯不亮",
        "{village}主路上的路灯坏了{n}盏，晚上一片漆黑，老人出门摔倒过，请相关部门尽快派人维修。",
    ),
    Template(
        "城乡建设",
        "cgj",
        ("complaint",),
        "{estate}门口垃圾清运不及时",
        "{estate}门口的垃圾桶已经{n}天没人清运，天气一暖就发臭，苍蝇很多，请尽快处理。",
    ),
    Template(
        "交通运输",
        "jtj",
        ("complaint", "help"),
        "{road}路面坑洼急需修补",
        "{road}从{village}到镇上这段路坑洼不平，最大的坑有半米宽，下雨后积水看不见，"
        "已经有电动车在这里摔倒，请交通部门尽快修补路面。",
    ),
    Template(
        "交通运输",
        "jtj",
        ("suggestion",),
        "建议增开到{township}的公交班次",
        "目前县城到{township}的公交每天只有{n}班，最后一班下午四点就发车了，"
        "在县城上班的人下班回不了家，建议增开班次或延长末班车时间。",
    ),
    Template(
        "交通运输",
        "jtj",
        ("complaint",),
        "{road}红绿灯故障",
        "{road}路口的红绿灯已经坏了{n}天，一直黄灯闪烁，上下班高峰车辆抢行，非常危险，请尽快修复。",
    ),
    Template(
        "劳动和社会保障",
        "rsj",
        ("complaint", "help"),
        "{company}拖欠工资",
        "我在{company}打工，工地{month}月完工后老板一直拖欠我们{people}个工人的工资，"
        "共计约{amount}元，多次讨要都说没钱。眼看要过年了，请劳动监察部门帮我们讨回工钱。",
        peak=(1,),
        peak_weight=12,
    ),
    Template(
        "劳动和社会保障",
        "rsj",
        ("help",),
        "{company}未给员工缴纳社保",
        "我在{company}工作了{n}年，最近才发现单位一直没有给我缴纳养老保险和医疗保险，"
        "找公司理论，公司让我自己交。请问这种情况怎么处理，希望人社部门依法督促补缴。",
    ),
    Template(
        "劳动和社会保障",
        "rsj",
        ("consultation",),
        "灵活就业人员养老保险怎么缴",
        "我今年{age}岁，一直在外打零工，想问一下灵活就业人员的养老保险在哪里办理，"
        "每年最低缴多少，缴满多少年可以领取？",
    ),
    Template(
        "劳动和社会保障",
        "ybj",
        ("consultation", "help"),
        "异地就医医保报销问题",
        "我母亲在省城住院做了手术，花了{amount}元，出院回来到医保窗口报销说没有备案，"
        "只能按比例降低报销。请问异地就医备案能不能补办，报销比例是多少？",
    ),
    Template(
        "劳动和社会保障",
        "ybj",
        ("complaint",),
        "医保门诊慢特病认定太慢",
        "我父亲患有{disease}，{month}月份就提交了门诊慢特病申请材料，"
        "到现在已经{n}个月了还没有认定结果，每个月药费都要自己垫付，希望加快办理。",
    ),
    Template(
        "劳动和社会保障",
        "ybj",
        ("consultation",),
        "城乡居民医保缴费时间",
        "请问明年的城乡居民医疗保险什么时候开始缴费，个人缴多少钱，孩子刚出生能不能马上参保？",
        peak=(9, 10, 11),
    ),
    Template(
        "卫生计生",
        "wjj",
        ("complaint",),
        "{township}卫生院服务态度差",
        "今天带孩子去{township}卫生院看病，排队{n}个小时，医生态度很差，"
        "问两句就不耐烦，希望卫健局加强管理。",
    ),
    Template(
        "卫生计生",
        "wjj",
        ("suggestion", "help"),
        "{village}卫生室缺医少药",
        "{village}卫生室只有一位老村医，常用的降压药经常断货，"
        "老人拿药要跑到镇上，建议配齐常用药品，定期派医生下乡坐诊。",
    ),
    Template(
        "教育文体",
        "jyj",
        ("help", "consultation"),
        "孩子入学学位问题",
        "我们是{estate}的业主，孩子今年{age}岁该上一年级，划片学校说学位已满，"
        "让去{n}公里外的学校，接送非常困难。请问学区是怎么划分的，能否协调就近入学？",
        peak=(7, 8),
    ),
    Template(
        "教育文体",
        "jyj",
        ("complaint",),
        "{school}违规收取补课费",
        "{school}老师周末组织学生到校外补课，每人每月收费{amount}元，"
        "不参加的学生被冷落，家长敢怒不敢言，请教育局调查处理。",
    ),
    Template(
        "教育文体",
        "jyj",
        ("suggestion",),
        "建议{school}门口设置护学岗",
        "{school}门口是{road}，上下学时车辆多、车速快，学生过马路很危险，建议设置护学岗和减速带。",
    ),
    Template(
        "环境保护",
        "sthj",
        ("complaint", "report"),
        "{company}夜间排放刺鼻气体",
        "{township}的{company}每天晚上偷偷排放废气，气味刺鼻，周边村民嗓子疼、"
        "不敢开窗，白天又停了，怀疑是故意避开检查，请环保部门夜间突击检查。",
    ),
    Template(
        "环境保护",
        "sthj",
        ("complaint",),
        "{river}河水发黑发臭",
        "{village}旁边的{river}最近河水发黑，还有死鱼，上游好像有养殖场往河里排污，"
        "请尽快调查处理。",
        peak=(7, 8),
    ),
    Template(
        "环境保护",
        "sthj",
        ("complaint",),
        "{road}烧烤油烟扰民",
        "{road}的几家烧烤店油烟直排，楼上住户家里全是油烟味，衣服都不敢晾，"
        "请督促安装油烟净化设备。",
        peak=(6, 7, 8),
    ),
    Template(
        "商贸旅游",
        "scjg",
        ("complaint",),
        "{shop}销售过期食品",
        "我在{road}的{shop}买的牛奶，回家发现已经过期{n}天，找店家只同意退货，"
        "不肯按规定赔偿，请市场监管局处理。",
    ),
    Template(
        "商贸旅游",
        "scjg",
        ("complaint", "report"),
        "{shop}预付卡跑路",
        "{road}的{shop}前几天突然关门，老板联系不上，我办的会员卡里还有{amount}元没用完，"
        "像我这样的会员有上百人，请求相关部门帮忙追回。",
    ),
    Template(
        "商贸旅游",
        "scjg",
        ("complaint",),
        "燃气价格上涨不合理",
        "{estate}的燃气费从这个月起突然每立方涨了{price}元，也没有提前公示，请问涨价是否经过审批？",
    ),
    Template(
        "经济管理",
        "xzsp",
        ("consultation", "help"),
        "施工许可证办理进度",
        "我公司在{township}的厂房扩建项目，{month}月提交了建筑工程施工许可申请，"
        "到现在还没办下来，窗口说还缺消防审查意见，请问还需要多久？项目工期很紧。",
        enterprise=True,
    ),
    Template(
        "经济管理",
        "xzsp",
        ("complaint",),
        "营业执照变更来回跑",
        "我们公司办理营业执照地址变更，已经去政务服务中心跑了{n}次，"
        "每次都说材料不齐，但一次性告知单上没写，希望改进。",
        enterprise=True,
    ),
    Template(
        "经济管理",
        "jfj",
        ("help", "consultation"),
        "企业技改补贴申报咨询",
        "我们是{township}的一家{industry}企业，今年投入{amount}元做了设备技术改造，"
        "想问一下县里的技改补贴政策今年还有没有，申报需要哪些材料？",
        enterprise=True,
    ),
    Template(
        "经济管理",
        "jfj",
        ("help",),
        "企业用电容量不足影响生产",
        "我公司新上了两条生产线，现有变压器容量不够，经常跳闸，"
        "向供电公司申请增容{n}个月了还没有答复，请经发局帮忙协调。",
        enterprise=True,
    ),
    Template(
        "国土资源",
        "zrzy",
        ("help",),
        "不动产证迟迟办不下来",
        "我家在{estate}的房子买了{n}年了，开发商一直没有办理不动产权证，"
        "说是土地出让金没交清。孩子上学要用房产证，请求协调办理。",
    ),
    Template(
        "国土资源",
        "zrzy",
        ("complaint", "report"),
        "{village}有人违法占用耕地建房",
        "{village}有人在基本农田上打地基建房子，已经盖到第二层了，"
        "村里管不了，请自然资源部门依法制止。",
    ),
    Template(
        "农村农业",
        "nyj",
        ("help",),
        "{village}灌溉水渠堵塞",
        "{village}的灌溉水渠被淤泥和垃圾堵住了，马上要春灌，几百亩麦田浇不上水，请求尽快组织清淤。",
        peak=(3, 4, 5),
    ),
    Template(
        "民政",
        "mzj",
        ("help", "consultation"),
        "高龄津贴没有按时发放",
        "我父亲今年{old}岁，按规定应该享受高龄津贴，"
        "但是从{month}月开始就没有再收到，请问是什么原因？",
    ),
    Template(
        "政法",
        "xfj",
        ("complaint",),
        "邻里宅基地纠纷多次调解无果",
        "{village}我家和邻居因为宅基地边界的事情发生纠纷，村里调解了{n}次都没结果，"
        "对方还在争议的地方堆放杂物，请求镇里和有关部门依法处理。",
    ),
    Template(
        "城乡建设",
        "swj",
        ("help",),
        "{village}自来水经常停水",
        "{village}最近一个月停水{n}次，也不提前通知，做饭洗衣都成问题，"
        "请水务部门查明原因，保障正常供水。",
        peak=(6, 7, 8),
    ),
)

ESTATES = [
    "阳光花园",
    "锦绣家园",
    "清河名苑",
    "金色华庭",
    "幸福里",
    "滨江一号",
    "和谐家园",
    "书香苑",
    "东方明珠小区",
    "翠湖小区",
]
ROADS = [
    "人民路",
    "解放大街",
    "建设路",
    "中山路",
    "滨河大道",
    "文化路",
    "新华街",
    "迎宾大道",
    "育才路",
    "工业大道",
]
COMPANIES = [
    "清河宏达建筑工程有限公司",
    "清河县兴业机械制造有限公司",
    "华远新材料科技有限公司",
    "清河盛源化工有限公司",
    "鑫隆纺织有限公司",
    "恒通物流有限公司",
    "瑞丰食品有限公司",
]
SHOPS = ["惠民超市", "家家乐便利店", "美丽人生美容院", "天天健身会所", "好又多超市"]
SCHOOLS = ["实验小学", "城关第二小学", "清河县第一中学", "新华镇中心小学", "育才中学"]
RIVERS = ["清水河", "柳河", "沙河"]
DISEASES = ["高血压", "糖尿病", "慢性肾病", "冠心病"]
INDUSTRIES = ["机械制造", "食品加工", "纺织", "新材料", "电子元件"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = [
    "建华",
    "秀英",
    "志刚",
    "丽娟",
    "海涛",
    "春梅",
    "国庆",
    "桂兰",
    "德明",
    "小燕",
    "子豪",
    "雨欣",
    "文博",
    "淑芬",
    "永强",
    "晓东",
]
MOBILE_PREFIXES = [
    "138",
    "139",
    "135",
    "137",
    "150",
    "151",
    "158",
    "186",
    "187",
    "188",
    "133",
    "153",
    "177",
    "180",
    "189",
    "199",
]
