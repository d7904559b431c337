"""OMI^O23 (HL7 v2.5.1 ch. 4.4.10, IHE RAD-4): the ORM reading, with IPC and TQ1.

IPC carries what ORM hides in OBR and Z-segments: accession (IPC-1), requested procedure
ID (IPC-2), study instance UID (IPC-3), SPS ID (IPC-4), modality (IPC-5), protocol
(IPC-6), station name (IPC-7), location (IPC-8) and station AE title (IPC-9).
"""

from __future__ import annotations

from pacsbridge.formats.hl7v2.message import Message
from pacsbridge.hl7v2.inbound.applied import Applied
from pacsbridge.hl7v2.inbound.fields import codeable_concept, first_field
from pacsbridge.hl7v2.inbound.orders import OrderFacts
from pacsbridge.hl7v2.inbound.orm import OrderGroup, apply_order_groups
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction


def apply_omi(transaction: Transaction, message: Message, partner: Partner) -> Applied:
    return apply_order_groups(transaction, message, partner, _with_ipc)


def _with_ipc(group: OrderGroup, facts: OrderFacts) -> None:
    ipc = group.get("IPC")
    if ipc is None:
        return
    facts.accession = ipc.value(1) or facts.accession
    facts.requested_procedure_id = ipc.value(2) or facts.requested_procedure_id
    facts.study_instance_uid = ipc.value(3) or facts.study_instance_uid
    step = facts.step
    step.sps_id = ipc.value(4) or step.sps_id
    step.modality = ipc.value(5) or step.modality
    protocol = first_field(ipc, 6)
    if protocol is not None and protocol.component(1):
        step.protocol_code = (codeable_concept(protocol) or {}).get("coding", [None])[0]
        step.description = protocol.component(2) or step.description
    step.station_name = ipc.value(7) or step.station_name
    step.location = ipc.value(8) or step.location
    step.station_ae = ipc.value(9) or step.station_ae
