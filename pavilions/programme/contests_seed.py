"""The demo's knowledge contests: one bilingual bank and a contest for each themed day (idempotent)."""
from datetime import timedelta

from sqlalchemy import select

from expo.extensions import db
from pavilions.programme import contests_banks, contests_services
from pavilions.programme.models_contests import Contest, QuestionBank

BANK_TITLE = "网络安全知识题库 / Cyber security question bank"


def _q(kind, text, options, right, explanation):
    return {"kind": kind, "text": text, "explanation": explanation,
            "options": [{"text": t, "correct": i in right} for i, t in enumerate(options)]}


TF = ("正确 / True", "错误 / False")
QUESTIONS = (
    _q("single", "收到“银行客服”短信要求点击链接验证账户，应该怎么做？ / A text from 'your bank' asks you to verify "
       "your account through a link. What should you do?",
       ("立即点击链接 / Click the link at once", "拨打银行官方电话核实 / Call the bank's official number",
        "回复短信提供卡号 / Reply with the card number"), {1},
       "通过官方渠道核实，不点击陌生链接。 / Check through official channels; never follow unknown links."),
    _q("truefalse", "同一个密码可以在所有网站上使用。 / It is fine to use one password on every website.", TF, {1},
       "一处泄露会危及所有账号，每个网站应使用不同密码。 / One leak would open every account: use a different "
       "password for each site."),
    _q("multiple", "以下哪些属于个人敏感信息？ / Which of these are sensitive personal information?",
       ("身份证号 / ID card number", "银行账户 / Bank account", "行踪轨迹 / Location history",
        "喜欢的颜色 / Favourite colour"), {0, 1, 2},
       "《个人信息保护法》将身份证号、金融账户、行踪轨迹等列为敏感个人信息。 / The Personal Information "
       "Protection Law lists ID numbers, financial accounts and location history as sensitive."),
    _q("single", "公共场所的免费 Wi-Fi 最适合用来做什么？ / What is free public Wi-Fi best used for?",
       ("网上银行转账 / Online banking", "浏览新闻 / Reading the news", "登录工作邮箱 / Signing in to work e-mail"),
       {1}, "公共 Wi-Fi 可能被监听，避免在其上进行敏感操作。 / Public Wi-Fi may be watched: avoid sensitive tasks."),
    _q("truefalse", "开启双重验证可以降低账号被盗的风险。 / Two-factor sign-in lowers the risk of account theft.",
       TF, {0}, "即使密码泄露，攻击者仍需第二个因素。 / Even with your password, an attacker needs the second factor."),
    _q("multiple", "识别“刷单返利”诈骗的特征有哪些？ / Which are signs of a 'paid task' scam?",
       ("先垫付资金 / You must pay money first", "承诺高额回报 / High returns are promised",
        "要求下载陌生软件 / You must install unknown apps", "通过官方招聘网站发布 / Posted on an official jobs site"),
       {0, 1, 2}, "刷单本身违法，凡是要求先垫钱的都是诈骗。 / Paid-task schemes are illegal; any demand to pay first "
       "is a scam."),
    _q("single", "发现手机安装了来历不明的应用，首先应当： / You find an unknown app on your phone. First:",
       ("卸载并检查权限 / Uninstall it and review permissions", "忽略它 / Ignore it",
        "把它分享给朋友 / Share it with friends"), {0},
       "及时卸载可疑应用，并检查其他应用的权限。 / Remove suspicious apps and review the permissions of the rest."),
    _q("truefalse", "《网络安全法》自2017年6月1日起施行。 / China's Cybersecurity Law took effect on 1 June 2017.",
       TF, {0}, "《中华人民共和国网络安全法》于2017年6月1日起施行。 / It took effect on 1 June 2017."),
    _q("single", "国家网络安全宣传周通常在哪个季节举办？ / In which season is the National Cyber Security Publicity "
       "Week usually held?", ("春季 / Spring", "秋季 / Autumn", "冬季 / Winter"), {1},
       "宣传周一般在每年九月举办。 / The week is usually held in September."),
    _q("multiple", "以下哪些是安全的密码习惯？ / Which are safe password habits?",
       ("使用密码管理器 / Use a password manager", "使用长口令 / Use long passphrases",
        "把密码写在显示器上 / Stick the password on the screen", "定期检查泄露 / Check for leaks"), {0, 1, 3},
       "长口令加密码管理器，并关注泄露通知。 / Long passphrases in a password manager, and watch for breach "
       "notices."),
)
DAYS = (("校园日知识竞赛", "Campus Day quiz"), ("电信日知识竞赛", "Telecom Day quiz"),
        ("法治日知识竞赛", "Rule of Law Day quiz"), ("金融日知识竞赛", "Finance Day quiz"),
        ("青少年日知识竞赛", "Youth Day quiz"), ("个人信息保护日知识竞赛", "Personal Information Protection Day quiz"))


def seed_demo(curator):
    """Create the demo bank and six contests (open now, closing in 7 days) unless present; return their ids."""
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.title == BANK_TITLE))
    if bank is None:
        bank = contests_banks.create_bank(curator, BANK_TITLE, [dict(q) for q in QUESTIONS])
    ids = []
    opens = contests_services.now() - timedelta(minutes=1)
    for title, title_en in DAYS:
        contest = db.session.scalar(select(Contest).where(Contest.title == title, Contest.bank_id == bank.id))
        if contest is None:
            contest = contests_services.create_contest(curator, {
                "title": title, "title_en": title_en, "bank_id": bank.id, "draw": 5, "time_limit_s": 300,
                "pass_score": 3, "opens_at": opens.isoformat(), "closes_at": (opens + timedelta(days=7)).isoformat()})
        ids.append(contest.id)
    return ids
