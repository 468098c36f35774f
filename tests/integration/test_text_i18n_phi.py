#!/usr/bin/python3
"""PHI in non-Latin and multi-byte text (the i18n audit), through `dicomveil deidentify`.

Builds, in a temporary folder, one SC and one Basic Text SR instance per character set DICOM defines (ISO_IR 100,
101, 109, 110, 126, 127, 138, 144, 148, 166, 13; ISO 2022 IR 13/87, IR 87, IR 149, IR 58; GB18030; GBK; ISO_IR 192
with Vietnamese, Japanese, Arabic and Devanagari), each holding a made-up identity in its script: PatientName with
its alphabetic, ideographic and phonetic groups where they apply, PatientID, birth date, address and telephone
number, and the same name, ID, birth date and address in StudyDescription, SeriesDescription,
RequestedProcedureDescription, ImageComments, AdditionalPatientHistory, an SR TextValue and private LO / OB / UN
values, in the spellings the audit found kept: Greek and Cyrillic in capitals or without accents, a kana name in the
other syllabary or half width, a name inside a long CJK run, digits of other scripts (a study date in Arabic-Indic
and Devanagari digits too), Thai Buddhist-era dates in digits and with Thai month names, an Arabic name without
its article, Hebrew and Arabic names with a one-letter word glued before them, a name after an ISO 2022 escape in a
private blob, a simplified-character name written in traditional characters (`歐陽明龑` for `欧阳^明䶮`), a Japanese
name in other character forms (`渡辺` for `渡邉`), a name,
birth date and phone number in mathematical and enclosed letters and digits (`𝐐𝐮𝐢𝐱𝐨𝐭𝐞`, `Ⓠⓤⓘⓧⓞⓣⓔ`,
`𝟏𝟒/𝟎𝟑/𝟏𝟗𝟔𝟏`). Every value is
encoded here, escape sequences and all (pydicom 2.3 writes IR 58 without its designation and does not designate G1
again after a line break).

Checks, over every output of five configs (DEIDENTIFY_TAG_CONTENTS, the Basic profile, Basic + cleanDescriptors,
KEEP_ALL + cleanDescriptors, MINIMAL_KEEP_LIST):
  run               every instance ok;
  valid             every SH LO ST LT UC UT PN value decodes strictly in the set declared for it (ISO 2022 escapes
                    declared and whole, no half character, no G1 byte without a designation, G0 back to a
                    single-byte set at the value's end), every other text VR is ASCII;
  no-survivor       no planted token (NFKC, case-folded) in any decoded value of the output, nor in a private
                    value's bytes (UTF-8, Latin-1, the instance's set); under KEEP_ALL + cleanDescriptors only the
                    descriptors PS3.15 codes C are looked at (the profile keeps the rest);
Messages name the identity, the token's name and the element, never the value.
Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR."""
import os
import re
import shutil
import sys
import tempfile
import time
import unicodedata
import warnings

import pydicom
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import dvcheck
import dvtext

warnings.simplefilter("ignore")
pydicom.config.replace_un_with_known_vr = False
C = dvcheck.Checks()

# key: charset, family, given, PatientID, street, city, phone, birth date as written, word "patient", ideographic
# (family, given), phonetic (family, given), extra lines of AdditionalPatientHistory as (text, the token in it)
IDS = {
    "latin1": ("ISO_IR 100", "Größlinger", "Jürgen", "GRJ-482913", "Königsallee 17", "Düsseldorf", "0211 5550187",
               "23.04.1961", "Patient", None, None, [("GROESSLINGER", None)]),
    "latin2": ("ISO_IR 101", "Dvořáčková", "Žofie", "DZ-550142", "Šťastného 14", "Třebíč", "+420 568 555 014",
               "23. 4. 1961", "Pacientka", None, None, [("DVOŘÁČKOVÁ ŽOFIE", "DVOŘÁČKOVÁ")]),
    "latin3": ("ISO_IR 109", "Ħaġġarżammit", "Ġużeppina", "HZ-662301", "Triq il-Ħnejja 5", "Żebbuġ",
               "+356 2155 0187", "23/04/1961", "Pazjent", None, None, []),
    "latin4": ("ISO_IR 110", "Kalniņšķis", "Jānis", "KJ-771045", "Rīgas iela 7", "Cēsis", "+371 6555 0187",
               "23.04.1961", "Pacients", None, None, [("KALNIŅŠĶIS", None)]),
    "greek": ("ISO_IR 126", "Παπαδοπουλάκης", "Ξενοφών", "ΑΜ-650193", "Οδός Ερμού 25", "Καλαμάτα", "210 555 0187",
              "23/04/1961", "Ασθενής", None, None,
              [("ΠΑΠΑΔΟΠΟΥΛΑΚΗΣ ΞΕΝΟΦΩΝ", "ΠΑΠΑΔΟΠΟΥΛΑΚΗΣ"), ("Παπαδοπουλακης Ξενοφων", "Παπαδοπουλακης")]),
    "arabic": ("ISO_IR 127", "الزهراني", "خالد", "ZK-338120", "شارع التحلية 12", "جدة", "012 555 0187",
               "23/04/1961", "المريض", None, None, [("خالد زهراني", "زهراني")]),
    "hebrew": ("ISO_IR 138", "רוזנבלום", "אביגיל", "RA-440917", "רחוב הרצל 15", "חדרה", "04 555 0187",
               "23/04/1961", "מטופלת", None, None, [("התוצאות נשלחו לרוזנבלום אביגיל", "רוזנבלום"),
                                            ("הטופס נמסר כשלרוזנבלום היה תור", "רוזנבלום")]),
    "cyrillic": ("ISO_IR 144", "Замятина", "Ксения", "ЗК-771204", "ул. Садовая 17", "Новосибирск",
                 "+7 383 555 01 87", "23.04.1961", "Пациентка", None, None,
                 [("ЗАМЯТИНА КСЕНИЯ", "ЗАМЯТИНА"), ("замятина", None)]),
    "latin5": ("ISO_IR 148", "Yıldırımoğlu", "Şükrü", "YS-118374", "Atatürk Cad. 9", "İzmir", "0232 555 01 87",
               "23.04.1961", "Hasta", None, None, []),
    "thai": ("ISO_IR 166", "สมบูรณ์ชัย", "วิชัย", "SW-992013", "ถนนสุขุมวิท 55", "เชียงใหม่", "053 555 0187",
             "23/04/2504", "ผู้ป่วย", None, None,
             [("๒๓/๐๔/๑๙๖๑", None), ("นายวิชัยสมบูรณ์ชัยมาตรวจตามนัด", "สมบูรณ์ชัย"),
              ("ผู้ป่วยชื่อวิชัยอายุหกสิบปี", "วิชัย"), ("ตรวจเมื่อ ๑๗/๐๓/๒๕๖๒ ที่โรงพยาบาล", "๑๗/๐๓/๒๕๖๒"),
              ("วันเกิด 23 เม.ย. 2504", "23 เม.ย. 2504"), ("นัดครั้งต่อไปวันที่ 17 มีนาคม พ.ศ. 2562", "17 มีนาคม พ.ศ. 2562")]),
    "jp87": ("\\ISO 2022 IR 87", "Tsukimori", "Sayuri", "TS-204718", "東京都世田谷区桜丘3丁目", "世田谷区",
             "03-5550-0187", "1961年4月23日", "患者", ("月森", "小百合"), ("つきもり", "さゆり"),
             [("ツキモリ サユリ", "ツキモリ"), ("ＴＳＵＫＩＭＯＲＩ", None), ("月森小百合様頭部単純撮影依頼書記載内容確認済放射線科医師読影予定", "月森")]),
    "jp13": ("ISO 2022 IR 13\\ISO 2022 IR 87", "ﾂｷﾓﾘ", "ｻﾕﾘ", "TS-204719", "東京都世田谷区桜丘3丁目", "世田谷区",
             "03-5550-0188", "1961年4月23日", "患者", ("月森", "小百合"), ("つきもり", "さゆり"),
             [("ツキモリ", None), ("さゆり様", "さゆり"), ("Referral letter for Tsukimori Sayuri", "Tsukimori")]),
    "jp13only": ("ISO_IR 13", "ﾂｷﾓﾘ", "ｻﾕﾘ", "TS-204720", "ｾﾀｶﾞﾔｸ ｻｸﾗｶﾞｵｶ 3", "ｾﾀｶﾞﾔ", "03-5550-0189",
                 "1961/04/23", "ｶﾝｼﾞｬ", None, None, []),
    "korean": ("\\ISO 2022 IR 149", "Gwak", "Seoyun", "GS-880412", "서울특별시 마포구 월드컵로 12", "마포구",
               "02-555-0187", "1961년 4월 23일", "환자", ("郭", "瑞允"), ("곽", "서윤"),
               [("곽서윤", None), ("곽서윤환자는어제부터두통을호소하여오늘오전신경과외래를방문하였음", "곽서윤")]),
    # a Korean name in Hangul only (no alphabetic group, as Korean sites write it), in Latin letters in English text:
    # Revised Romanization, McCune-Reischauer and the customary spellings (hangul_latin.h; stop 51)
    "korean_hangul": ("\\ISO 2022 IR 149", "홍", "길동", "HG-880413", "서울특별시 종로구 세종대로 1", "종로구",
                      "02-555-0188", "1961년 4월 23일", "환자", None, None,
                      [("Hong Gildong tolerated the contrast", "Hong Gildong"), ("HONG GIL DONG CT CHEST", "GIL DONG"),
                       ("Gil-dong Hong called back", "Gil-dong"), ("Kil-tong Hong seen again", "Kil-tong"),
                       ("Gildong stable", "Gildong")]),
    "chinese58": ("\\ISO 2022 IR 58", "Qiu", "Yuting", "QY-310547", "北京市海淀区中关村南大街5号", "海淀区",
                  "010-5550-0187", "1961年4月23日", "患者", ("邱", "雨婷"), None,
                  [("患者邱雨婷女士因反复头痛三天伴恶心呕吐于今日上午来我院神经内科门诊就诊", "邱雨婷")]),
    "gb18030": ("GB18030", "Ouyang", "Mingyan", "OM-420991", "上海市徐汇区漕溪北路88号", "徐汇区", "021-5550-0187",
                "1961年4月23日", "患者", ("欧阳", "明䶮"), None,
                [("欧阳明䶮", None), ("患者歐陽明龑先生今日來院複診", "歐陽明龑")]),
    "gbk": ("GBK", "Situ", "Jiahui", "SJ-420992", "广州市天河区体育西路12号", "天河区", "020-5550-0187",
            "1961年4月23日", "患者", ("司徒", "嘉慧"), None, [("司徒嘉慧", None)]),
    # a Chinese name in Han only, in toneless pinyin in English text (pinyin.h; stop 51)
    "chinese_han": ("GB18030", "王", "小明", "WX-420993", "北京市朝阳区建国路8号", "朝阳区", "010-5550-0188",
                    "1961年4月23日", "患者", None, None,
                    [("Wang Xiaoming tolerated the contrast", "Wang Xiaoming"),
                     ("WANG XIAO MING CT CHEST", "XIAO MING"),
                     ("Xiao-Ming Wang called back", "Xiao-Ming"), ("Xiaoming stable", "Xiaoming")]),
    "chinese_han_lv": ("ISO_IR 192", "吕", "志强", "LZ-420994", "上海市徐汇区漕溪北路88号", "徐汇区", "021-5550-0189",
                       "1961年4月23日", "患者", None, None,
                       [("LYU ZHIQIANG CT CHEST", "LYU ZHIQIANG"), ("Zhiqiang Lv called back", "Zhiqiang Lv"),
                        ("Zhi-Qiang stable", "Zhi-Qiang")]),
    # a whole name in one component, no '^' (many Korean and Chinese sites write it so), read as family + given
    # (stop 52, denylist.c whole_name_surname)
    "korean_whole": ("\\ISO 2022 IR 149", "홍길동", "", "HG-880414", "서울특별시 종로구 세종대로 1", "종로구",
                     "02-555-0189", "1961년 4월 23일", "환자", None, None,
                     [("Hong Gildong tolerated the contrast", "Gildong"), ("Gil-dong Hong called back", "Gil-dong"),
                      ("Kil-tong Hong seen again", "Kil-tong"), ("길동 씨 내원", "길동")]),
    "chinese_whole": ("GB18030", "王小明", "", "WX-420995", "北京市朝阳区建国路8号", "朝阳区", "010-5550-0190",
                      "1961年4月23日", "患者", None, None,
                      [("Xiao-Ming Wang called back", "Xiao-Ming"), ("Xiaoming stable", "Xiaoming"),
                       ("小明今天复诊", "小明")]),
    # a Korean name in Hanja only, read to Hangul and romanised (stop 52, hanja.h)
    "korean_hanja": ("\\ISO 2022 IR 149", "洪", "吉洞", "HG-880415", "서울특별시 종로구 세종대로 1", "종로구",
                     "02-555-0190", "1961년 4월 23일", "환자", None, None,
                     [("Hong Gildong tolerated the contrast", "Hong Gildong"),
                      ("Gil-dong Hong called back", "Gil-dong"), ("길동 씨 내원", "길동")]),
    # a Chinese surname in its Cantonese and Hokkien spellings (stop 52, pinyin.c customary[])
    "chinese_cantonese": ("GB18030", "郭", "大文", "KD-420996", "香港九龙弥敦道88号", "九龙", "852-5550-0191",
                          "1961年4月23日", "患者", None, None,
                          [("Referral: Kwok Dawen, 61M", "Kwok"), ("QUEK DAWEN CT CHEST", "QUEK"),
                           ("Dawen Kuo called back", "Kuo"), ("Mr Kwek seen again", "Kwek")]),
    "utf8_vi": ("ISO_IR 192", "Trịnh", "Quỳnh Như", "TQ-600213", "Số 12 Phố Hàng Bạc", "Hoàn Kiếm",
                "024 5550 0187", "23/04/1961", "Bệnh nhân", None, None, [("TRINH QUYNH NHU", "TRINH")]),
    "utf8_jp": ("ISO_IR 192", "Tsukimori", "Sayuri", "TS-204721", "東京都世田谷区桜丘3丁目", "世田谷区",
                "03-5550-0190", "1961年4月23日", "患者", ("月森", "小百合"), ("つきもり", "さゆり"),
                [("ﾂｷﾓﾘ ｻﾕﾘ", "ﾂｷﾓﾘ"), ("つきもりさゆりさまはきのうからずつうをうったえてらいいんしました", "つきもり")]),
    "utf8_ar": ("ISO_IR 192", "العتيبي", "نورة", "AN-٧٧١٢٠٤", "شارع العليا ١٢", "الرياض", "٠١١ ٥٥٥ ٠١٨٧",
                "٢٣/٠٤/١٩٦١", "المريضة", None, None,
                [("ID 771204", "771204"), ("أجريت الأشعة بتاريخ ١٧/٠٣/٢٠١٩ في الرياض", "١٧/٠٣/٢٠١٩"),
                 ("أرسل التقرير للعتيبي اليوم", "عتيبي")]),
    "utf8_hi": ("ISO_IR 192", "श्रीवास्तव", "अनन्या", "SA-558201", "१२ महात्मा गांधी मार्ग", "लखनऊ",
                "0522 555 0187", "२३/०४/१९६१", "रोगी", None, None, [("जांच १७/०३/२०१९ को हुई", "१७/०३/२०१९")]),
    # a Japanese name in its family register's old forms (渡邉), written in the new ones in a report (渡辺; stop 50)
    "utf8_jp_forms": ("ISO_IR 192", "Watanabe", "Misaki", "WM-204722", "東京都世田谷区桜丘3丁目", "世田谷区",
                      "03-5550-0191", "1961年4月23日", "患者", ("渡邉", "美咲"), ("わたなべ", "みさき"),
                      [("渡辺美咲さんの頭部単純撮影", "渡辺"), ("紹介状：渡邊美咲", "渡邊"), ("髙橋医師より渡辺様へ", "渡辺")]),
    # mathematical and enclosed letters and digits (NFKC folds them; the text detectors read them since stop 49)
    "utf8_math": ("ISO_IR 192", "Quixote", "Maria", "QM-310361", "Calle Mayor 17", "Albacete", "967 555 0187",
                  "14/03/1961", "Paciente", None, None,
                  [("Vista hoy 𝐐𝐮𝐢𝐱𝐨𝐭𝐞 𝐌𝐚𝐫𝐢𝐚, control", "𝐐𝐮𝐢𝐱𝐨𝐭𝐞 𝐌𝐚𝐫𝐢𝐚"),
                   ("Informe para 𝙌𝙪𝙞𝙭𝙤𝙩𝙚 𝙈𝙖𝙧𝙞𝙖", "𝙌𝙪𝙞𝙭𝙤𝙩𝙚 𝙈𝙖𝙧𝙞𝙖"),
                   ("control de Ⓠⓤⓘⓧⓞⓣⓔ Ⓜⓐⓡⓘⓐ hoy", "Ⓠⓤⓘⓧⓞⓣⓔ Ⓜⓐⓡⓘⓐ"),
                   ("paciente 🅀🅄🄸🅇🄾🅃🄴 🄼🄰🅁🄸🄰", "🅀🅄🄸🅇🄾🅃🄴 🄼🄰🅁🄸🄰"),
                   ("nacida el 𝟏𝟒/𝟎𝟑/𝟏𝟗𝟔𝟏 en Albacete", "𝟏𝟒/𝟎𝟑/𝟏𝟗𝟔𝟏"),
                   ("tel 𝟵𝟲𝟳 𝟱𝟱𝟱 𝟬𝟭𝟴𝟳", "𝟵𝟲𝟳 𝟱𝟱𝟱 𝟬𝟭𝟴𝟳")]),
}
DOB = "19610423"
TEXT_VRS = {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
SINGLE_VALUED = {"LT", "ST", "UT"}
CODECS = {"": "ascii", "ISO_IR 6": "ascii", "ISO_IR 100": "latin_1", "ISO_IR 101": "iso8859_2",
          "ISO_IR 109": "iso8859_3", "ISO_IR 110": "iso8859_4", "ISO_IR 144": "iso8859_5", "ISO_IR 127": "iso8859_6",
          "ISO_IR 126": "iso8859_7", "ISO_IR 138": "iso8859_8", "ISO_IR 148": "iso8859_9", "ISO_IR 166": "tis_620",
          "ISO_IR 192": "utf-8", "GB18030": "gb18030", "GBK": "gbk"}
DESCRIPTORS = {"(0008,1030)", "(0008,103E)", "(0020,4000)", "(0010,21B0)", "(0032,1060)"}  # PS3.15 C, text VRs
CONFIGS = {
    "dtc": {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}},
    "basic": {"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}},
    "basic_cd": {"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
                                    "options": {"cleanDescriptors": {}}}},
    "keepall_cd": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"cleanDescriptors": {}}}},
    "minimal": {"dicomTagConfig": {"profileType": "MINIMAL_KEEP_LIST_PROFILE"}},
}


# ------------------------------------------------------------------------------------------------- encoding

def _jis(ch):
    b = ch.encode("iso2022_jp")
    return b[3:-3] if b.startswith(b"\x1b$B") else None


def encode(terms, text):
    """text (one segment: no delimiter inside) in the set the terms declare, with ISO 2022 escapes per PS3.5."""
    t0 = terms[0]
    if len(terms) == 1 and not t0.startswith("ISO 2022"):
        if t0 == "ISO_IR 13":
            b = text.encode("shift_jis")
            assert all(len(ch.encode("shift_jis")) == 1 for ch in text)
            return b
        return text.encode(CODECS[t0])
    ir13 = "ISO 2022 IR 13" in terms
    out, g0, g1 = bytearray(), "ascii", ("kana" if t0 == "ISO 2022 IR 13" else None)
    for ch in text:
        if ord(ch) < 0x80:
            if g0 != "ascii":
                out += b"\x1b(J" if ir13 else b"\x1b(B"
                g0 = "ascii"
            out += ch.encode()
        elif ir13 and 0xFF61 <= ord(ch) <= 0xFF9F:
            if g1 != "kana":
                out += b"\x1b)I"
                g1 = "kana"
            out += ch.encode("shift_jis")
        elif "ISO 2022 IR 87" in terms and _jis(ch):
            if g0 != "jis":
                out += b"\x1b$B"
                g0 = "jis"
            out += _jis(ch)
        elif "ISO 2022 IR 149" in terms:
            if g1 != "ks":
                out += b"\x1b$)C"
                g1 = "ks"
            out += ch.encode("euc_kr")
        elif "ISO 2022 IR 58" in terms:
            if g1 != "gb":
                out += b"\x1b$)A"
                g1 = "gb"
            out += ch.encode("gb2312")
        else:
            raise UnicodeError(f"U+{ord(ch):04X} not in {terms}")
    if g0 != "ascii":
        out += b"\x1b(J" if ir13 else b"\x1b(B"
    return bytes(out)


def encode_value(terms, vr, text):
    if vr == "PN":
        return b"=".join(b"^".join(encode(terms, c) for c in g.split("^")) for g in text.split("="))
    return b"\r\n".join(encode(terms, line) for line in text.split("\r\n"))


# ------------------------------------------------------------------------------------------------- decoding

G1_96 = {"100": ("A", "latin_1"), "101": ("B", "iso8859_2"), "109": ("C", "iso8859_3"), "110": ("D", "iso8859_4"),
         "144": ("L", "iso8859_5"), "127": ("G", "iso8859_6"), "126": ("F", "iso8859_7"), "138": ("H", "iso8859_8"),
         "148": ("M", "iso8859_9"), "203": ("b", "iso8859_15"), "166": ("T", "tis_620")}


def _num(t):
    return t.replace("ISO 2022 IR ", "").replace("ISO_IR ", "") if t else "6"


def decode_iso2022(raw, terms, vr):
    esc = {b"\x1b(B": (0, "ascii")}
    for t in terms:
        n = _num(t.strip())
        if n == "13":
            esc[b"\x1b(J"], esc[b"\x1b)I"] = (0, "romaji"), (1, "kana")
        elif n == "87":
            esc[b"\x1b$B"] = (0, "jis")
        elif n == "159":
            esc[b"\x1b$(D"] = (0, "jis212")
        elif n == "149":
            esc[b"\x1b$)C"] = (1, "ks")
        elif n == "58":
            esc[b"\x1b$)A"] = (1, "gb")
        elif n in G1_96:
            esc[b"\x1b-" + G1_96[n][0].encode()] = (1, n)
        elif n != "6":
            raise UnicodeError(f"unknown term {t!r}")
    n0 = _num(terms[0].strip())
    init = ("romaji", "kana") if n0 == "13" else ("ascii", n0 if n0 in G1_96 else
                                                    {"149": "ks", "58": "gb"}.get(n0))
    g0, g1 = init
    delims = set(b"^=") if vr == "PN" else (set() if vr in SINGLE_VALUED else {0x5C})
    out, i = [], 0
    while i < len(raw):
        b = raw[i]
        if b == 0x1B:
            e = next((e for e in sorted(esc, key=len, reverse=True) if raw.startswith(e, i)), None)
            if e is None:
                raise UnicodeError(f"undeclared or broken escape at {i}")
            if esc[e][0] == 0:
                g0 = esc[e][1]
            else:
                g1 = esc[e][1]
            i += len(e)
        elif b < 0x80 and g0 in ("jis", "jis212"):
            if i + 1 >= len(raw) or not (0x21 <= b <= 0x7E and 0x21 <= raw[i + 1] <= 0x7E):
                raise UnicodeError(f"half or invalid {g0} character at {i}")
            pair = bytes([b | 0x80, raw[i + 1] | 0x80])
            out.append((b"\x8f" + pair if g0 == "jis212" else pair).decode("euc_jp"))
            i += 2
        elif b < 0x80:
            out.append(chr(b))
            if b < 0x20 or b in delims:
                g0, g1 = init
            i += 1
        elif g1 in ("ks", "gb"):
            if i + 1 >= len(raw) or not (0xA1 <= b <= 0xFE and 0xA1 <= raw[i + 1] <= 0xFE):
                raise UnicodeError(f"half or invalid {g1} character at {i}")
            out.append(raw[i:i + 2].decode("euc_kr" if g1 == "ks" else "gb2312"))
            i += 2
        elif g1 == "kana":
            if not 0xA1 <= b <= 0xDF:
                raise UnicodeError(f"byte {b:#x} is no JIS X 0201 katakana at {i}")
            out.append(bytes([b]).decode("shift_jis"))
            i += 1
        elif g1 in G1_96 and b >= 0xA0:
            out.append(bytes([b]).decode(G1_96[g1][1]))
            i += 1
        else:
            raise UnicodeError(f"byte {b:#x} with G1 {g1} at {i}")
    if g0 in ("jis", "jis212"):
        raise UnicodeError("the value ends with G0 multi-byte")
    return "".join(out)


def decode(raw, terms, vr):
    terms = [t.strip() for t in (terms or [""])]
    t0 = terms[0]
    if t0 in ("ISO_IR 192", "GB18030", "GBK"):
        return raw.decode(CODECS[t0])
    if len(terms) > 1 or t0.startswith("ISO 2022") or t0 == "ISO_IR 13":
        return decode_iso2022(raw, ["ISO 2022 IR 13"] if t0 == "ISO_IR 13" else terms, vr)
    s = raw.decode(CODECS[t0])
    if "\x1b" in s or (CODECS[t0] != "ascii" and any(0x80 <= ord(c) < 0xA0 for c in s)):
        raise UnicodeError("escape or C1 control in a single-set value")
    return s


# ------------------------------------------------------------------------------------------------- instances

def pn_of(d):
    v = f"{d[1]}^{d[2]}" if d[2] else d[1]  # no given name: the whole name in one component
    if d[9] or d[10]:
        v += "=" + ("^".join(d[9]) if d[9] else "")
        if d[10]:
            v += "=" + "^".join(d[10])
    return v


def texts_of(d):
    _, fam, giv, pid, addr, city, phone, dobt, word, ideo, phon, extra = d
    hist = [f"{word} {fam}, {dobt}"]
    if ideo:
        hist.append("".join(ideo) + " " + word)
    if phon:
        hist.append(" ".join(phon))
    hist += [e for e, _ in extra]
    return {
        0x00081030: ("LO", f"{fam} {giv} CT"),
        0x0008103E: ("LO", f"{giv} {fam} {pid}"),
        0x00321060: ("LO", f"{city} {fam}"),
        0x00204000: ("LT", f"{word}: {fam} {giv}, ID {pid}, {dobt}, {addr}, {city}, tel {phone}"),
        0x001021B0: ("LT", "\r\n".join(hist)),
    }


def build(key, d, sr, path):
    terms = d[0].split("\\")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11" if sr else "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False

    def txt(dd, tag, vr, text):
        dd.add_new(tag, vr, encode_value(terms, vr, text))

    ds.add_new(0x00080005, "CS", terms if len(terms) > 1 else terms[0])
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate, ds.Modality, ds.AccessionNumber = "20200305", "SR" if sr else "OT", "AC" + DOB[2:]
    txt(ds, 0x00100010, "PN", pn_of(d))
    txt(ds, 0x00100020, "LO", d[3])
    ds.PatientBirthDate = DOB
    txt(ds, 0x00101040, "LO", f"{d[4]}, {d[5]}")
    txt(ds, 0x00102154, "SH", d[6])
    for tag, (vr, text) in texts_of(d).items():
        txt(ds, tag, vr, text)
    ds.add_new(0x00110010, "LO", "I18N AUDIT")
    txt(ds, 0x00111003, "LO", f"{d[1]}^{d[2]} {d[3]}")
    name = b"=".join(encode(terms, p) for p in (d[1], d[2]))
    ds.add_new(0x00111001, "OB", b"<hdr>PATIENT=" + name + b"</hdr>" + b"\0" * ((len(name) + 13) % 2))
    un = encode(terms, f"Name: {d[1]} {d[2]} Addr: {d[4]}")
    ds.add_new(0x00111002, "UN", un + b" " * (len(un) % 2))
    if d[9]:
        ide = encode(terms, "".join(d[9])) if terms != ["ISO_IR 13"] else b""
        ds.add_new(0x00111004, "OB", b"KANJI:" + ide + b"\0" * (len(ide) % 2))
    if sr:
        ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
        item = Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "TEXT"
        txt(item, 0x0040A160, "UT", f"{d[8]} {d[2]} {d[1]} ({d[3]}), {d[4]} {d[5]}. {d[7]}")
        pitem = Dataset()
        pitem.RelationshipType, pitem.ValueType = "HAS OBS CONTEXT", "PNAME"
        txt(pitem, 0x0040A123, "PN", pn_of(d))
        ds.ContentSequence = [pitem, item]
    else:
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
        ds.PixelData = b"\x10" * 64
    ds.save_as(path, write_like_original=False)
    # what was written is what was meant (the encoder and decoder above agree)
    back = pydicom.dcmread(path)
    assert decode(back.get_item(0x00100010).value, terms, "PN").rstrip(" ") == pn_of(d), key
    assert decode(back.get_item(0x001021B0).value, terms, "LT").rstrip(" ") == texts_of(d)[0x001021B0][1], key


def tokens_of(d):
    _, fam, giv, pid, addr, city, phone, dobt, _, ideo, phon, extra = d
    t = {"fam": fam, "pid": pid, "addr": addr, "city": city, "dob_text": dobt, "phone": phone}
    for i, w in enumerate(giv.split()):
        t[f"giv{i}"] = w
    for i, p in enumerate(ideo or ()):
        t[f"ideo{i}"] = p
    for i, p in enumerate(phon or ()):
        t[f"phon{i}"] = p
    for i, (e, needle) in enumerate(extra):
        t[f"extra{i}"] = needle or e
    return {k: v for k, v in t.items() if len(v) >= 2}


def norm(s):
    return unicodedata.normalize("NFKC", s).casefold()


def walk(ds, cs, path, out):
    if 0x00080005 in ds:
        v = ds.get_item(0x00080005).value
        v = v.decode("ascii", "replace") if isinstance(v, bytes) else v
        v = "\\".join(v) if isinstance(v, (list, pydicom.multival.MultiValue)) else v
        cs = [x.strip() for x in str(v or "").split("\\")]
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        vr = getattr(raw, "VR", None)
        if vr is None:
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                vr = "UN"
        p = f"{path}({tag.group:04X},{tag.element:04X})"
        if vr == "SQ":
            for i, it in enumerate(ds[tag].value or []):
                walk(it, cs, f"{p}[{i}].", out)
        elif isinstance(raw.value, bytes):
            out.append((p, vr, raw.value, cs))


def check_output(cfg, key, d, path):
    ds = pydicom.dcmread(path)
    els = []
    walk(ds, None, "", els)
    texts = []
    for p, vr, raw, cs in els:
        if vr in TEXT_VRS:
            try:
                texts.append((p, decode(raw, cs, vr)))
                C.ok("valid")
            except (UnicodeError, LookupError) as e:
                C.bad("valid", f"{cfg} {key} {p} {vr}: not valid in {cs}: {str(e)[:80]}")
                texts.append((p, raw.decode("latin_1")))
        elif vr in ("AE", "CS", "DA", "TM", "DT", "AS", "IS", "DS", "UI", "UR"):
            C.expect("valid", raw.isascii(), f"{cfg} {key} {p} {vr}: bytes outside ASCII")
            if vr != "UI":
                texts.append((p, raw.decode("latin_1")))
        else:
            texts += [(p, raw.decode("utf-8", "replace")), (p, raw.decode("latin_1"))]
            try:
                texts.append((p, decode(raw, cs, "UT")))
            except (UnicodeError, LookupError):
                pass
    if cfg == "keepall_cd":  # the profile keeps the patient's attributes: only the C-cleaned descriptors
        texts = [(p, s) for p, s in texts if p in DESCRIPTORS]
    for name, tok in tokens_of(d).items():
        nt = norm(tok)
        where = sorted({p for p, s in texts if nt in norm(dvtext_esc(s))})
        C.expect("no-survivor", not where, f"{cfg} {key}: {name} kept in {', '.join(where[:4])}")
    if cfg != "keepall_cd":
        where = sorted({p for p, s in texts if DOB in s and not p.endswith("(0010,0030)")})
        C.expect("no-survivor", not where, f"{cfg} {key}: the birth date YYYYMMDD kept in {', '.join(where[:4])}")


ESC_RE = re.compile(r"\x1b[\x20-\x2f]+[\x30-\x7e]")


def dvtext_esc(s):
    return ESC_RE.sub("", s)


def main():
    t0 = time.time()
    base = os.environ.get("DV_BUILD_DIR")
    tmp = tempfile.mkdtemp(prefix="dv_i18n_", dir=base if base and os.path.isdir(base) else None)
    try:
        src = os.path.join(tmp, "in")
        os.makedirs(src)
        for key, d in IDS.items():
            for sr in (False, True):
                build(key, d, sr, os.path.join(src, f"{key}_{'sr' if sr else 'sc'}.dcm"))
        for cfg, conf in CONFIGS.items():
            r = dvtext.deidentify(tmp, cfg, conf, [src], src)
            if not isinstance(r, dvtext.Run):
                C.bad("run", f"{cfg}: exit {r.returncode}")
                continue
            san = dvtext.sanitizer_report(r.proc.stderr)
            C.expect("run", r.proc.returncode == 0 and not san and len(r.outputs) == 2 * len(IDS),
                     f"{cfg}: exit {r.proc.returncode}, {len(r.outputs)} outputs {san[:3]}")
            for rel, out in sorted(r.outputs.items()):
                key = os.path.basename(rel).rsplit("_", 1)[0]
                check_output(cfg, key, IDS[key], out)
    finally:
        if os.environ.get("DV_KEEP_TMP"):
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return C.report("test_text_i18n_phi", ["run", "valid", "no-survivor"], 40, f" in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
