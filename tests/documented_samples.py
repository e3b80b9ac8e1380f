"""Expected values typed by hand from DigiCert's documentation, for every test suite of the collection.

Source: DigiCert's page "List codes for voucher order" (GET /services/v2/voucher/{voucher_order_id}/download;
a copy is at /work/shared/seed/list-codes-for-voucher-order.txt, and tests/unit/plugins/fixtures/ holds its
JSON and CSV samples byte for byte). The JSON sample is order 25252 (code 49170); the CSV sample has the rows
of orders 25252 and 25256 (codes 49170, 49178 and 49179).

Everything here is written out by hand. Nothing may be imported from plugins/ (the code under test) or from
tests/simulator/ (the fake API): an expectation taken from the code it checks would check nothing.

Import it as ``from tests import documented_samples as samples`` (the repository root is on pytest's path).
"""

from __future__ import annotations

# ---- the 21 fields ----------------------------------------------------------------------------------------------

# In DigiCert's order: the JSON sample's keys, and the CSV sample's header.
FIELDS = [
    "id",
    "value",
    "product_name",
    "no_of_fqdns",
    "no_of_wildcards",
    "shipping_method",
    "validity_years",
    "validity_days",
    "status",
    "created_date",
    "voucher_order_id",
    "cert_request_date",
    "cert_validity_start_date",
    "cert_validity_end_date",
    "cert_organization",
    "cert_common_name",
    "certificate_order_id",
    "voucher_validity_end_date",
    "order_valid_from",
    "order_valid_till",
    "server_licenses",
]
# The fields a typed record holds as integers: the JSON sample's numbers, and its digit strings
# certificate_order_id ("204928159") and server_licenses ("1").
INTEGER_FIELDS = {
    "id",
    "no_of_fqdns",
    "no_of_wildcards",
    "validity_years",
    "validity_days",
    "voucher_order_id",
    "certificate_order_id",
    "server_licenses",
}
# The CSV sample's header line (and the first line of our reports): the field names, comma-separated.
CSV_HEADER = ",".join(FIELDS)

# ---- code 49170's value: a slip in DigiCert's documentation ----------------------------------------------------

# The page spells code 49170 differently in its two samples: the JSON sample has ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS,
# the CSV sample ZVB3EWIHDH3U63AOZU5QZ4W4TUTRPPCS (L/E, 3/D and 5/6 differ). Both are kept as documented: records
# read from the JSON sample carry the first, records read from the CSV sample the second.
JSON_VALUE_49170 = "ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS"
CSV_VALUE_49170 = "ZVB3EWIHDH3U63AOZU5QZ4W4TUTRPPCS"

# ---- as DigiCert sends them ---------------------------------------------------------------------------------------

# The JSON sample's one record, exactly as documented: strings where DigiCert sends strings, " " for blank dates.
JSON_SAMPLE_49170 = {
    "id": 49170,
    "value": JSON_VALUE_49170,
    "product_name": "Basic OV",
    "no_of_fqdns": 5,
    "no_of_wildcards": 0,
    "shipping_method": "N/A",
    "validity_years": 3,
    "validity_days": 0,
    "status": "used",
    "created_date": "2022-03-03 13:31:03",
    "voucher_order_id": 25252,
    "cert_request_date": "2022-03-03 13:41:41",
    "cert_validity_start_date": " ",
    "cert_validity_end_date": " ",
    "cert_organization": "Example Inc.",
    "cert_common_name": "example.com",
    "certificate_order_id": "204928159",
    "voucher_validity_end_date": "2023-03-03",
    "order_valid_from": " ",
    "order_valid_till": " ",
    "server_licenses": "1",
}

# The CSV sample's rows, exactly as documented (DigiCert quotes some cells and sends " " for blank dates).
CSV_SAMPLE_ROW_49170 = (
    f'49170,{CSV_VALUE_49170},"Basic OV",5,0,N/A,3,0,used,"2022-03-03 13:31:03",25252,'
    '"2022-03-03 13:41:41"," "," ","Example Inc.",example.com,204928159,2023-03-03," "," ",1'
)
CSV_SAMPLE_ROW_49178 = (
    '49178,ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM,"Basic OV",5,0,N/A,3,0,used,"2022-03-03 14:43:28",25256,'
    '"2022-03-04 10:48:47"," "," ","Example Inc.",example.com,204928160,2023-03-03," "," ",1'
)
CSV_SAMPLE_ROW_49179 = (
    '49179,4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5,"Secure Site Pro EV SSL",2,0,N/A,3,0,used,"2022-03-03 14:43:28",25256,'
    '"2022-03-04 10:49:38"," "," ","Example Corp.",example.com,204928161,2023-03-03," "," ",1'
)

# ---- typed, as the collection returns them ----------------------------------------------------------------------

# The JSON sample typed: its digit strings as integers, its blank " " dates as None; every field that changes is
# listed, the rest (keys in DigiCert's order included) is the sample's.
TYPED_49170 = dict(
    JSON_SAMPLE_49170,
    cert_validity_start_date=None,
    cert_validity_end_date=None,
    certificate_order_id=204928159,
    order_valid_from=None,
    order_valid_till=None,
    server_licenses=1,
)
# The CSV sample's rows of order 25256 typed the same way; every cell that differs from 49170's row is listed.
TYPED_49178 = dict(
    TYPED_49170,
    id=49178,
    value="ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM",
    created_date="2022-03-03 14:43:28",
    voucher_order_id=25256,
    cert_request_date="2022-03-04 10:48:47",
    certificate_order_id=204928160,
)
# ... and every cell of 49179's row that differs from 49178's.
TYPED_49179 = dict(
    TYPED_49178,
    id=49179,
    value="4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5",
    product_name="Secure Site Pro EV SSL",
    no_of_fqdns=2,
    cert_request_date="2022-03-04 10:49:38",
    cert_organization="Example Corp.",
    certificate_order_id=204928161,
)
TYPED_ORDER_25252 = [TYPED_49170]
TYPED_ORDER_25256 = [TYPED_49178, TYPED_49179]

# ---- our CSV report of them ---------------------------------------------------------------------------------------

# Rows of our report (without line ends): DigiCert's columns in DigiCert's order, blank (" ") cells empty, bare
# numbers, and quotes only where RFC 4180 needs them (none in these rows). 49170 carries the JSON sample's value.
REPORT_ROW_49170 = (
    f"49170,{JSON_VALUE_49170},Basic OV,5,0,N/A,3,0,used,2022-03-03 13:31:03,25252,"
    "2022-03-03 13:41:41,,,Example Inc.,example.com,204928159,2023-03-03,,,1"
)
REPORT_ROW_49178 = (
    "49178,ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM,Basic OV,5,0,N/A,3,0,used,2022-03-03 14:43:28,25256,"
    "2022-03-04 10:48:47,,,Example Inc.,example.com,204928160,2023-03-03,,,1"
)
REPORT_ROW_49179 = (
    "49179,4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5,Secure Site Pro EV SSL,2,0,N/A,3,0,used,2022-03-03 14:43:28,25256,"
    "2022-03-04 10:49:38,,,Example Corp.,example.com,204928161,2023-03-03,,,1"
)


def crlf_lines(*lines: str) -> str:
    """LINES as our report writes them: each one ended by CRLF."""
    return "".join(line + "\r\n" for line in lines)


def report_of(*rows: str) -> str:
    """The whole report text with these ROWS: the header line, then the rows, every line ended by CRLF."""
    return crlf_lines(CSV_HEADER, *rows)


REPORT_25252 = report_of(REPORT_ROW_49170)
REPORT_25256 = report_of(REPORT_ROW_49178, REPORT_ROW_49179)

# ---- beyond DigiCert's samples: the simulator's documented data set ------------------------------------------------

# Two report rows of order 25261 from the data set table of tests/simulator/README.md, typed by hand as well: a cell
# with a comma and quotes (quoted, quotes doubled) and cells a spreadsheet would run as formulas (prefixed with a
# single quote by default).
REPORT_ROW_49260 = (
    "49260,H4LQ7ZC2WN5XBK3RTV6MPJ2DGA4FYS3E,Basic OV,5,0,N/A,3,0,used,2026-07-15 11:02:09,25261,2026-07-16 08:30:00,"
    '2026-07-16,2027-08-16,"Müller & Søn, ""Ærø""",shop.example.com,204930001,2029-06-02,2026-07-16,2029-07-16,1'
)
REPORT_ROW_49261 = (
    "49261,R2JX6TB4QZ7NVK5WMC3HPL2DGA7FYS6E,Basic OV,5,0,N/A,3,0,used,2026-07-15 11:02:09,25261,2026-07-17 14:05:51,"
    ",,'=1+2,'-cmd.example.com,204930002,2029-06-02,,,1"
)
