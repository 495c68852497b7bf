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
    "Dubois2021": (
        "Dubois SP, Miljkovic MD, et al., Conlon KC, 'Short-course IL-15 given as a continuous "
        "infusion led to a massive expansion of effective NK cells', J Immunother Cancer "
        "9:e002193 (2021)"
    ),
    "Miller2018": (
        "Miller JS et al., 'A first-in-human phase I study of subcutaneous outpatient "
        "recombinant human IL15 (rhIL15) in adults with advanced solid tumors', Clin Cancer "
        "Res 24(7):1525-1535 (2018)"
    ),
    "N803HV2022": (
        "N-803 (IL-15 superagonist) given subcutaneously to healthy volunteers: Tmax 4 h, "
        "t1/2 about 20 h, J Immunol 208(6):1362-1370 (2022), PMID 35228263 (abstract)"
    ),
    "Kasaian2002": (
        "Kasaian MT et al., 'IL-21 limits NK cell responses and promotes antigen-specific "
        "T cell activation: a mediator of the transition from innate to adaptive immunity', "
        "Immunity 16(4):559-569 (2002)"
    ),
    "Lim2014": (
        "Lim DP et al., ex vivo NK expansion with IL-21 in the first week, intermittently or "
        "continuously, Cytotherapy (2014), PMID 24950680"
    ),
    "ZhaoFrench2013": (
        "Zhao YM, French AR, IL-15 receptor binding and trafficking model: NK cells divide "
        "once surface complexes cross a threshold, PLoS Comput Biol 9(9):e1003222 (2013)"
    ),
    "Davis2009": (
        "Davis ID et al., 'A phase IIa study of recombinant human interleukin-21 in "
        "metastatic melanoma', Clin Cancer Res 15(6):2123-2129 (2009)"
    ),
    "Schmidt2010": (
        "Schmidt H et al., 'Safety and clinical effect of subcutaneous human interleukin-21 "
        "in patients with metastatic melanoma or renal cell carcinoma: a phase I trial', "
        "Clin Cancer Res 16(21):5312-5319 (2010)"
    ),
    "Steele2012": (
        "Steele N et al., 'A phase 1 trial of recombinant human IL-21 in combination with "
        "cetuximab in patients with metastatic colorectal cancer', Br J Cancer "
        "106(5):793-798 (2012)"
    ),
    "Timmerman2012": (
        "Timmerman JM et al., 'A phase I dose-finding trial of recombinant interleukin-21 and "
        "rituximab in relapsed and refractory low grade B-cell lymphoproliferative "
        "disorders', Clin Cancer Res 18(20):5752-5760 (2012)"
    ),
    "Petrella2012": (
        "Petrella TM et al., 'Interleukin-21 has activity in patients with metastatic "
        "melanoma: a phase II study', J Clin Oncol 30(27):3396-3401 (2012); NCIC CTG IND.189"
    ),
    "Krejsa2013": (
        "Krejsa CM et al., rIL-21 with rituximab deepens B-cell depletion in cynomolgus "
        "monkeys (2013)"
    ),
    "vanMeerten2006": (
        "van Meerten T, van Rijn RS, Hol S, Hagenbeek A, Ebeling SB, 'Complement-induced "
        "cell death by rituximab depends on CD20 expression level and acts complementary "
        "to antibody-dependent cellular cytotoxicity', Clin Cancer Res 12(13):4027-4035 "
        "(2006)"
    ),
    "Roda2006": (
        "Roda JM et al., 'Interleukin-21 enhances NK cell activation in response to "
        "antibody-coated targets', J Immunol 177(1):120-129 (2006)"
    ),
    "Gowda2008": (
        "Gowda A et al., 'IL-21 mediates apoptosis through up-regulation of the BH3 family "
        "member BIM and enhances both direct and antibody-dependent cellular cytotoxicity in "
        "primary chronic lymphocytic leukemia cells in vitro', Blood 111(9):4723-4730 (2008)"
    ),
    "Cappuccio2006": (
        "Cappuccio A, Elishmereni M, Agur Z, 'Cancer immunotherapy by interleukin-21: "
        "potential treatment strategies evaluated in a mathematical model', Cancer Res "
        "66(14):7293-7300 (2006); BioModels BIOMD0000000761"
    ),
    "Elishmereni2011": (
        "Elishmereni M, Kheifetz Y, Sondergaard H, Overgaard RV, Agur Z, 'An integrated "
        "disease/pharmacokinetic/pharmacodynamic model suggests improved interleukin-21 "
        "regimens validated prospectively for mouse solid cancers', PLoS Comput Biol "
        "7(9):e1002206 (2011)"
    ),
    "Overgaard2007": (
        "Overgaard RV, Karlsson M, Ingwersen SH, 'Establishing mechanism-based "
        "pharmacokinetic/pharmacodynamic models: IL-21 and red blood cells in cynomolgus "
        "monkeys', J Pharmacokinet Pharmacodyn 34(4):559-574 (2007)"
    ),
    "Friberg2002": (
        "Friberg LE et al., 'Model of chemotherapy-induced myelosuppression with parameter "
        "consistency across drugs', J Clin Oncol 20(24):4713-4721 (2002)"
    ),
    "MeyerPBMC": (
        "Meyer lab PBMC phospho-STAT5 time x dose data of IL-2 and IL-15 on NK and CD8 cells "
        "(github.com/meyer-lab/gc-cytokines ckine/data/pSTAT_data.csv; Farhat 2021): 1-h "
        "half-maximal IL-15 about 0.66 nM (NK) and 1.2 nM (CD8)"
    ),
    "ATR107": (
        "Whole-blood pSTAT3 assay of IL-21 receptor blockade (ATR-107), J Transl Med (2013): "
        "pSTAT3 rises with IL-21 concentration; 10-100 ng/mL is a strong stimulus"
    ),
    "Dodds2009": (
        "Dodds MG et al., 'Immune activation in advanced cancer patients treated with "
        "recombinant IL-21: multianalyte profiling of serum proteins', Cancer Immunol "
        "Immunother 58(6):843-854 (2009)"
    ),
    "Hangasky2020": (
        "Hangasky JA, Waldmann TA, Santi DV, 'Interleukin 15 pharmacokinetics and consumption by "
        "a dynamic cytokine sink', Front Immunol 11:1813 (2020)"
    ),
    "McLaughlin1998": (
        "McLaughlin P et al., 'Rituximab chimeric anti-CD20 monoclonal antibody therapy for "
        "relapsed indolent lymphoma: half of patients respond to a four-dose treatment "
        "program', J Clin Oncol 16(8):2825-2833 (1998)"
    ),
}


def citation_key(source: str) -> str | None:
    """Return the citation key a parameter source starts with, or None."""
    head = source.split(":", 1)[0].strip()
    return head if head in REFERENCES else None
