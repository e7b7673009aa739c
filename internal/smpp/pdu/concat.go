package pdu

import "fmt"

// Part says where one part of a concatenated message belongs: its reference (shared by the
// parts of one message from one sender), how many parts there are, and which this is (1-based).
type Part struct {
	Ref   uint16
	Total byte
	Seq   byte
}

// Information element identifiers of concatenation in a user data header (3GPP TS 23.040
// 9.2.3.24.1 and .8).
const (
	ieConcat8  = 0x00
	ieConcat16 = 0x08
)

// SplitUDH reads the user data header at the start of a short message whose esm_class has the
// UDHI bit: it returns the concatenation part it names (ok false when it names none) and the
// text after the header. A header longer than the message, or an information element running
// past the header, is an error.
func SplitUDH(sm []byte) (p Part, ok bool, text []byte, err error) {
	if len(sm) == 0 {
		return p, false, nil, fmt.Errorf("smpp: UDHI set on an empty short message")
	}
	n := int(sm[0])
	if 1+n > len(sm) {
		return p, false, nil, fmt.Errorf("smpp: user data header of %d octets in a %d-octet message", n, len(sm))
	}
	h := sm[1 : 1+n]
	for len(h) > 0 {
		if len(h) < 2 || 2+int(h[1]) > len(h) {
			return p, false, nil, fmt.Errorf("smpp: an information element runs past the user data header")
		}
		id, v := h[0], h[2:2+int(h[1])]
		switch {
		case id == ieConcat8 && len(v) == 3:
			p, ok = Part{Ref: uint16(v[0]), Total: v[1], Seq: v[2]}, true
		case id == ieConcat16 && len(v) == 4:
			p, ok = Part{Ref: uint16(v[0])<<8 | uint16(v[1]), Total: v[2], Seq: v[3]}, true
		}
		h = h[2+len(v):]
	}
	if ok && (p.Total == 0 || p.Seq == 0 || p.Seq > p.Total) {
		return p, false, nil, fmt.Errorf("smpp: concatenation part %d of %d", p.Seq, p.Total)
	}
	return p, ok, sm[1+n:], nil
}

// UDH is the 6-octet user data header of one part with an 8-bit reference (the low octet of
// p.Ref), the form every handset reads.
func UDH(p Part) []byte {
	return []byte{5, ieConcat8, 3, byte(p.Ref), p.Total, p.Seq}
}

// SARPart reads a concatenation part from the SAR TLVs (sar_msg_ref_num, sar_total_segments,
// sar_segment_seqnum); ok false when they are absent, an error when only some are there or
// they do not make sense.
func SARPart(ts TLVs) (p Part, ok bool, err error) {
	ref, hasRef := ts.Uint(TagSARMsgRefNum)
	total, hasTotal := ts.Uint(TagSARTotalSegments)
	seq, hasSeq := ts.Uint(TagSARSegmentSeqnum)
	if !hasRef && !hasTotal && !hasSeq {
		return p, false, nil
	}
	if !hasRef || !hasTotal || !hasSeq {
		return p, false, fmt.Errorf("smpp: SAR TLVs incomplete (sar_msg_ref_num, sar_total_segments and sar_segment_seqnum go together)")
	}
	p = Part{Ref: uint16(ref), Total: byte(total), Seq: byte(seq)}
	if p.Total == 0 || p.Seq == 0 || p.Seq > p.Total {
		return p, false, fmt.Errorf("smpp: SAR segment %d of %d", p.Seq, p.Total)
	}
	return p, true, nil
}

// SARTLVs are the SAR TLVs of one part.
func SARTLVs(p Part) TLVs {
	return TLVs{Uint16TLV(TagSARMsgRefNum, p.Ref), Uint8TLV(TagSARTotalSegments, p.Total), Uint8TLV(TagSARSegmentSeqnum, p.Seq)}
}
