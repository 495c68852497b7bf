"""Citation keys used as parameter sources, and their full references.

A parameter's ``source`` is either one of these keys, a key followed by a
comment (``"Farhat2021: IL-2/IL-15 posterior median, 0.0926 /min"``), or a
sentence starting with ``"assumed:"`` or ``"derived:"`` that gives the reason.
"""

from __future__ import annotations

REFERENCES: dict[str, str] = {
    "Zhang2003": (
        "Zhang J-L et al., 'Interleukin-21 receptor: binding of IL-21 and gamma-c', "
        "Biochem Biophys Res Commun 300(2):291-296 (2003), PMID 12504082"
    ),
    "Farhat2021": (
        "Farhat AM, Weiner AC, Posner C, et al., Meyer AS, 'Modeling cell-specific "
        "dynamics and regulation of the common gamma chain cytokines', Cell Reports "
        "(2021); posterior medians from github.com/meyer-lab/gc-cytokines "
        "(ckine/data/fits, ckine/data/final_receptor_levels.csv)"
    ),
    "Quanterix": (
        "Quanterix Simoa IL-21 assay kit page: mature IL-21, 133 aa, 15.4 kDa "
        "(https://www.quanterix.com/simoa-assay-kits/il-21/)"
    ),
    "Thompson2008": (
        "Thompson JA et al., 'Phase I study of recombinant interleukin-21 in patients "
        "with metastatic melanoma and renal cell carcinoma', J Clin Oncol "
        "26(12):2034-2039 (2008), PMID 18347008"
    ),
    "Davis2007": (
        "Davis ID et al., 'Clinical and biological efficacy of recombinant human "
        "interleukin-21 in patients with stage IV malignant melanoma without prior "
        "treatment', Clin Cancer Res 13(12):3630-3636 (2007), PMID 17575227"
    ),
    "Waggie2012": (
        "Waggie KS et al., 'Preclinical safety and pharmacokinetics of rIL-21 in "
        "cynomolgus monkeys', Int J Toxicol 31(4):303-316 (2012)"
    ),
    "Frederiksen2008": (
        "Frederiksen KS et al., 'IL-21 induces in vivo immune activation of NK cells "
        "and CD8+ T cells in patients with metastatic melanoma and renal cell "
        "carcinoma', Cancer Immunol Immunother 57(10):1439-1449 (2008)"
    ),
    "Konrad1990": (
        "Konrad MW et al., 'Pharmacokinetics of recombinant interleukin 2 in humans', "
        "Cancer Res 50(7):2009-2017 (1990), PMID 2317789"
    ),
    "Waldmann2011": (
        "Waldmann TA et al., 'Safety (toxicity), pharmacokinetics, immunogenicity, and "
        "impact on elements of the normal immune system of recombinant human IL-15 in "
        "rhesus macaques', Blood 117(18):4787-4795 (2011)"
    ),
    "Zeng2005": (
        "Zeng R et al., 'Synergy of IL-21 and IL-15 in regulating CD8+ T cell "
        "expansion and function', J Exp Med 201(1):139-148 (2005)"
    ),
    "Conlon2015": (
        "Conlon KC et al., 'Redistribution, hyperproliferation, activation of natural "
        "killer cells and CD8 T cells, and cytokine production during first-in-human "
        "clinical trial of recombinant human interleukin-15', J Clin Oncol "
        "33(1):74-82 (2015)"
    ),
    "Toomey2003": (
        "Toomey JA et al., IL-21 and IL-15 on murine NK progenitors (biphasic effect of "
        "IL-21: growth enhanced at ~20 pM, inhibited at 2 nM), figure pages at "
        "staff.ncl.ac.uk/colin.brooks/Toomey2003"
    ),
    "Strengell2003": (
        "Strengell M et al., 'IL-21 in synergy with IL-15 or IL-18 enhances IFN-gamma "
        "production in human NK and T cells', J Immunol 170(11):5464-5469 (2003)"
    ),
}


def citation_key(source: str) -> str | None:
    """Return the citation key a parameter source starts with, or None."""
    head = source.split(":", 1)[0].strip()
    return head if head in REFERENCES else None
