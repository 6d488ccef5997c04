"""Consent to the processing of personal data (Law 91/2025/QH15 on Personal Data Protection).

The purposes, the texts a worker agrees to (versioned: a record names the text it was given
under, so a later wording never rewrites what someone agreed to) and the ways consent is
taken. api/ stores one Consent row per worker and purpose; the pages show the current text.
"""

from __future__ import annotations

from dataclasses import dataclass

PURPOSE = "matching"
PURPOSES: dict[str, tuple[str, str]] = {
    PURPOSE: (
        "Kết nối học nghề và việc làm",
        "Matching to training and jobs",
    ),
}

#: How consent was taken.
METHODS: dict[str, tuple[str, str]] = {
    "paper": ("Ký phiếu đồng ý (bản giấy)", "Signed paper form"),
    "verbal": ("Đồng ý bằng lời, cán bộ ghi nhận", "Spoken, recorded by the caseworker"),
    "electronic": ("Đồng ý trên thiết bị điện tử", "Given on an electronic device"),
    "upload": ("Người tải lên xác nhận cho cả danh sách", "Confirmed for a whole uploaded list"),
    "declared": (
        "Ngày đồng ý ghi trong hồ sơ gửi lên (tệp hoặc API)",
        "Date given with the record (file or API)",
    ),
}
#: The methods a caseworker can pick on the registration page.
FORM_METHODS = ("paper", "verbal", "electronic")


@dataclass(frozen=True)
class ConsentText:
    version: str
    vi: str
    en: str


CURRENT = ConsentText(
    version="2026-1",
    vi=(
        "Tôi đồng ý để Sở Nội vụ (lĩnh vực lao động – việc làm) và các trung tâm dịch vụ việc"
        " làm xử lý thông tin cá nhân của tôi (họ tên, năm sinh, số điện thoại, nơi ở, trình"
        " độ, kỹ năng, nghề quan tâm, mức lương mong muốn) để giới thiệu khóa đào tạo và việc"
        " làm phù hợp; và, nếu tôi tự nguyện cung cấp, giới tính, dân tộc và tình trạng khuyết"
        " tật (dữ liệu cá nhân nhạy cảm), chỉ để kiểm tra việc giới thiệu có công bằng, không"
        " bao giờ để xếp hạng hay chuyển cho doanh nghiệp. Thông tin chỉ được chuyển cho doanh"
        " nghiệp khi tôi được giới thiệu tới doanh nghiệp đó. Tôi có thể rút lại sự đồng ý bất"
        " kỳ lúc nào; khi đó dữ liệu cá nhân của tôi sẽ bị xóa."
    ),
    en=(
        "I agree that the provincial Department of Home Affairs (labour and employment) and the"
        " employment service centres process my personal data (name, year of birth, phone,"
        " home, education, skills, trades of interest, expected wage) to suggest suitable"
        " courses and jobs; and, if I choose to give them, my gender, ethnicity and disability"
        " (sensitive personal data), only to check that referrals are fair, never to rank me"
        " or to pass to an enterprise. My data go to an enterprise only when I am referred to"
        " it. I can withdraw this consent at any time; my personal data will then be erased."
    ),
)
TEXTS: dict[str, ConsentText] = {CURRENT.version: CURRENT}
