/* Test-only DICOM builder: encodes instances in memory so tests generate their DICOM instead of shipping it.
 * Supports every transfer syntax kind we read (implicit LE, explicit LE/BE, deflated), nested sequences and
 * items of defined or undefined length, private elements and encapsulated pixel data. */
#ifndef DV_BUILD_H
#define DV_BUILD_H

#include <stddef.h>
#include <stdint.h>

typedef enum dvb_ts {
    DVB_IMPLICIT_LE = 0,
    DVB_EXPLICIT_LE,
    DVB_EXPLICIT_BE,
    DVB_DEFLATED_LE,
    DVB_JPEG_BASELINE, /* explicit LE dataset, TS 1.2.840.10008.1.2.4.50, use dvb_encapsulated for PixelData */
    DVB_J2K_LOSSLESS,  /* explicit LE dataset, TS 1.2.840.10008.1.2.4.90, use dvb_encapsulated for PixelData */
    DVB_RLE,           /* explicit LE dataset, TS 1.2.840.10008.1.2.5, use dvb_encapsulated for PixelData */
    DVB_JPEG_LS_LOSSLESS, /* explicit LE dataset, TS 1.2.840.10008.1.2.4.80, use dvb_encapsulated for PixelData */
    DVB_JPEG_LOSSLESS_SV1, /* explicit LE dataset, TS 1.2.840.10008.1.2.4.70, use dvb_encapsulated for PixelData */
    DVB_J2K,              /* explicit LE dataset, TS 1.2.840.10008.1.2.4.91, use dvb_encapsulated for PixelData */
    DVB_JPEG_LS_NEAR,     /* explicit LE dataset, TS 1.2.840.10008.1.2.4.81, use dvb_encapsulated for PixelData */
    DVB_DEFLATE_FRAME     /* explicit LE dataset, TS 1.2.840.10008.1.2.8.1, use dvb_encapsulated for PixelData */
} dvb_ts;

typedef struct dvb dvb;

/* Start an instance. part10 = 1 writes preamble + DICM + file meta (with the given SOP class/instance UIDs
 * taken from the dataset when dvb_finish runs: MediaStorageSOPClassUID = (0008,0016),
 * MediaStorageSOPInstanceUID = (0008,0018) unless dvb_set_meta_sop_instance overrides it). */
dvb *dvb_new(dvb_ts ts, int part10);
/* Elements must be added in ascending tag order within each dataset/item (the builder does not sort). */
void dvb_str(dvb *b, uint32_t tag, const char vr[2], const char *value);   /* pads to even length */
void dvb_bytes(dvb *b, uint32_t tag, const char vr[2], const void *value, uint32_t len); /* raw, no padding */
void dvb_u16(dvb *b, uint32_t tag, uint16_t v);   /* VR US */
void dvb_u32(dvb *b, uint32_t tag, uint32_t v);   /* VR UL */
/* The Image Pixel module's geometry, in tag order: Rows, Columns, BitsAllocated = BitsStored = bits,
 * HighBit = bits - 1, PixelRepresentation 0 (unsigned). */
void dvb_pixel_geometry(dvb *b, uint16_t rows, uint16_t cols, uint16_t bits);
/* Sequences: undefined = 1 writes undefined lengths with delimiters, 0 writes defined lengths. */
void dvb_seq_begin(dvb *b, uint32_t tag, int undefined);
void dvb_item_begin(dvb *b, int undefined);
void dvb_item_end(dvb *b);
void dvb_seq_end(dvb *b);
/* Encapsulated PixelData (7FE0,0010) with an empty basic offset table and the given fragments. */
void dvb_encapsulated(dvb *b, const void *const *frags, const uint32_t *lens, size_t n);
/* The same with the given Basic Offset Table entries (any values: tests of lying tables). */
void dvb_encapsulated_bot(dvb *b, const void *const *frags, const uint32_t *lens, size_t n, const uint32_t *bot,
                          size_t nbot);
/* Override the file meta MediaStorageSOPInstanceUID (default: the dataset's SOPInstanceUID). */
void dvb_set_meta_sop_instance(dvb *b, const char *uid);
/* Override the file meta TransferSyntaxUID (a private syntax; the dataset stays encoded as the dvb_ts says). */
void dvb_set_meta_ts(dvb *b, const char *uid);
/* Finish and hand over the encoded bytes (malloc'd; caller frees). Frees the builder. */
uint8_t *dvb_finish(dvb *b, size_t *len);

/* Write bytes to a file (0 on success). */
int dvb_write_file(const char *path, const void *data, size_t len);

#endif
