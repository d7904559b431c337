"""Our own HL7 v2 test messages (written for these tests; the shared corpus is read in place).

Each is a list of segments; ``text()`` joins them as they go on the wire (CR after each).
"""

from __future__ import annotations

# The ORM^O01 of the product brief (DESIGN.md), as printed there.
ORM_O01 = [
    "MSH|^~\\&|HIS|HOSPITAL_A|MEDISFERA|PACS|20250315120000||ORM^O01|MSG001|P|2.5",
    "PID|1||1234567890^^^HIS||GARCIA^PEDRO^M||19751022|M|||C/ MAYOR 1^MADRID^^28001",
    "PV1|1|O|RADIOLOGY||||12345^DR LOPEZ^ANA|",
    "ORC|NW|ORD-2025-001|||SC||||20250315120000|||12345^DR LOPEZ^ANA",
    "OBR|1|ORD-2025-001||72193^TC ABDOMEN SIN CONTRASTE^LN|||20250315||||||||||||"
    "12345^DR LOPEZ^ANA||||||CT|||^^MEDISFERA_MWL^MEDISFERA|||SC",
]

# A fuller ORM^O01 with fields where v2.5.1 puts them, repetitions, subcomponents, a Z-segment.
ORM_FULL = [
    "MSH|^~\\&|RIS|CLINICA_NORTE|PACSBRIDGE|PACS|20250402083000+0200||ORM^O01^ORM_O01|"
    "CN-7731|P|2.5.1|||AL|NE|ESP|8859/1",
    "PID|1||556677^^^CLINICA_NORTE^MR~X1234567^^^DNI^NI||MARTIN^LUCIA^ISABEL||19880214|F|||"
    "AV DE LA PAZ 12^^ZARAGOZA^^50008^ESP",
    "PV1|1|O|RX^SALA2||||4471^SERRANO^JAVIER|9982^ROMERO^ELENA",
    "ORC|NW|P-88121^RIS|F-55310^PACS||SC||^^^20250403091500^^R||20250402083000|||4471^SERRANO^JAVIER",
    "OBR|1|P-88121^RIS|F-55310^PACS|RX-TOR^RX TORAX PA Y LATERAL^L&LOCAL||||||||||||"
    "4471^SERRANO^JAVIER||ACC-2025-0042|RP-0042|SPS-0042||||DX|||^^^20250403091500^^R||||||"
    "7781^NAVARRO^PILAR",
    "ZDS|1.2.826.0.1.3680043.8.498.1^PACSBRIDGE^Application^DICOM",
]

# ADT^A01 with Spanish names; the text is the same, the bytes differ by MSH-18.
ADT_A01_SPANISH = [
    "MSH|^~\\&|HIS|HOSPITAL_A|PACSBRIDGE|PACS|20250315101500||ADT^A01^ADT_A01|ADT0042|P|2.5"
    "|||||ESP|{charset}",
    "EVN|A01|20250315101500",
    "PID|1||99887766^^^HIS^MR||NÚÑEZ^MARÍA JOSÉ^^^SRA.||19620730|F|||"
    "CALLE DEL AÑIL 3, 2º^^LOGROÑO^LA RIOJA^26001^ESP||^PRN^PH^^34^941^555123",
    "PV1|1|I|MED^204^B||||2211^IBÁÑEZ^JOSÉ LUIS",
]

# Non-default delimiters: * fields, : components, ; repetitions, / escape, + subcomponents.
NON_DEFAULT = [
    "MSH*:;/+*LAB*HOSP*PACSBRIDGE*PACS*20250101120000**ADT:A08*ND-1*P*2.4",
    "PID*1**A1;B2:::OTHER**PEREZ:ANA******C. LARGA 4 /F/ BAJO:MADRID+CENTRO",
]

BATCH = [
    "FHS|^~\\&|HIS|HOSPITAL_A|PACSBRIDGE|PACS|20250315130000||batch-file-1",
    "BHS|^~\\&|HIS|HOSPITAL_A|PACSBRIDGE|PACS|20250315130000||batch-1",
    "MSH|^~\\&|HIS|HOSPITAL_A|PACSBRIDGE|PACS|20250315130001||ADT^A08|B-1|P|2.5",
    "PID|1||111^^^HIS||UNO^PRIMERO",
    "MSH|^~\\&|HIS|HOSPITAL_A|PACSBRIDGE|PACS|20250315130002||ADT^A08|B-2|P|2.5",
    "PID|1||222^^^HIS||DOS^SEGUNDO",
    "BTS|2",
    "FTS|1",
]


def text(segments: list[str], **fields: str) -> str:
    """The message as sent: each segment ended by CR; ``{charset}`` etc. filled in."""
    return "".join(segment.format(**fields) + "\r" for segment in segments)
