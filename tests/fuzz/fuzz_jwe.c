/*
 * fuzz_jwe.c -- JWE parsing and decryption (every serialization) with a
 * fixed set of keys: an EC P-256 key (RFC 7518 App. C "Bob"), an RSA key
 * (RFC 7520 §5.1) and 16/32-byte symmetric keys, RSA1_5 allowed so that
 * path is reached too. In test builds every input is also decrypted with
 * the JSON forms parsed by jansson only (jwe.c's STATIC jwe_decrypt with
 * fast false): result, plaintext, header and error message must match the
 * default path, which takes jwe_parse_flat for the flattened form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#ifdef PROPELLER_UNIT_TEST
enum core_err jwe_decrypt(const void *jwe, size_t n,
    const struct crypto_jwe_dec_opts *o, bool fast, struct secret **pt_out,
    json_t **header_out, struct core_errbuf *eb);
#endif

static const char bob_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\","
    "\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\","
    "\"d\":\"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw\"}";

static const char rsa_jwk[] =
    "{\"kty\":\"RSA\",\"n\":\"maxhbsmBtdQ3CNrKvprUE6n9lYcregDMLYNeTAWcL"
    "j8NnPU9XIYegTHVHQjxKDSHP2l-F5jS7sppG1wgdAqZyhnWvXhYNvcM7RfgKxqNx_x"
    "AHx6f3yy7s-M9PSNCwPC2lh6UAkR4I00EhV9lrypM9Pi4lBUop9t5fS9W5UNwaAllh"
    "rd-osQGPjIeI1deHTwx-ZTHu3C60Pu_LJIl6hKn9wbwaUmA4cR5Bd2pgbaY7ASgsjC"
    "UbtYJaNIHSoHXprUdJZKUMAzV0WOKPfA6OPI4oypBadjvMZ4ZAj3BnXaSYsEZhaueT"
    "XvZB4eZOAjIyh2e_VOIKVMsnDrJYAVotGlvMQ\",\"e\":\"AQAB\",\"d\":\"Kn9"
    "tgoHfiTVi8uPu5b9TnwyHwG5dK6RE0uFdlpCGnJN7ZEi963R7wybQ1PLAHmpIbNTzt"
    "frheoAniRV1NCIqXaW_qS461xiDTp4ntEPnqcKsyO5jMAji7-CL8vhpYYowNFvIesg"
    "MoVaPRYMYT9TW63hNM0aWs7USZ_hLg6Oe1mY0vHTI3FucjSM86Nff4oIENt43r2fsp"
    "gEPGRrdE6fpLc9Oaq-qeP1GFULimrRdndm-P8q8kvN3KHlNAtEgrQAgTTgz80S-3VD"
    "0FgWfgnb1PNmiuPUxO8OpI9KDIfu_acc6fg14nsNaJqXe6RESvhGPH2afjHqSy_Fd2"
    "vpzj85bQQ\",\"p\":\"2DwQmZ43FoTnQ8IkUj3BmKRf5Eh2mizZA5xEJ2MinUE3sd"
    "TYKSLtaEoekX9vbBZuWxHdVhM6UnKCJ_2iNk8Z0ayLYHL0_G21aXf9-unynEpUsH7H"
    "HTklLpYAzOOx1ZgVljoxAdWNn3hiEFrjZLZGS7lOH-a3QQlDDQoJOJ2VFmU\",\"q"
    "\":\"te8LY4-W7IyaqH1ExujjMqkTAlTeRbv0VLQnfLY2xINnrWdwiQ93_VF099aP1"
    "ESeLja2nw-6iKIe-qT7mtCPozKfVtUYfz5HrJ_XY2kfexJINb9lhZHMv5p1skZpeIS"
    "-GPHCC6gRlKo1q-idn_qxyusfWv7WAxlSVfQfk8d6Et0\",\"dp\":\"UfYKcL_or4"
    "92vVc0PzwLSplbg4L3-Z5wL48mwiswbpzOyIgd2xHTHQmjJpFAIZ8q-zf9RmgJXkDr"
    "Fs9rkdxPtAsL1WYdeCT5c125Fkdg317JVRDo1inX7x2Kdh8ERCreW8_4zXItuTl_Ki"
    "XZNU5lvMQjWbIw2eTx1lpsflo0rYU\",\"dq\":\"iEgcO-QfpepdH8FWd7mUFyrXd"
    "nOkXJBCogChY6YKuIHGc_p8Le9MbpFKESzEaLlN1Ehf3B6oGBl5Iz_ayUlZj2IoQZ8"
    "2znoUrpa9fVYNot87ACfzIG7q9Mv7RiPAderZi03tkVXAdaBau_9vs5rS-7HMtxkVr"
    "xSUvJY14TkXlHE\",\"qi\":\"kC-lzZOqoFaZCr5l0tOVtREKoVqaAYhQiqIRGL-M"
    "zS4sCmRkxm5vZlXYx6RtE1n_AagjqajlkjieGlxTTThHD8Iga6foGBMaAr5uR1hGQp"
    "Sc7Gl7CF1DZkBJMTQN6EshYzZfxW08mIO8M6Rzuh0beL6fG9mkDcIyPrBXx2bQ_mM"
    "\"}";

static struct crypto_key *keys[2];
static struct secret *sym16, *sym32;

static void
init_keys(void)
{
	static const uint8_t k[32] = { 0x19, 0x9c, 0xba, 0xb0, 0x86, 0x7a };

	if (keys[0] != NULL)
		return;
	if (crypto_key_from_jwk_str(bob_jwk, strlen(bob_jwk), &keys[0],
	    NULL) != CORE_OK ||
	    crypto_key_from_jwk_str(rsa_jwk, strlen(rsa_jwk), &keys[1],
	    NULL) != CORE_OK)
		abort();
	sym16 = secret_from(k, 16);
	sym32 = secret_from(k, 32);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_jwe_dec_opts o;
	struct secret *pt = NULL;
	json_t *hdr = NULL;
	struct core_errbuf eb;

	init_keys();
	memset(&o, 0, sizeof(o));
	o.keys = (const struct crypto_key *const *)keys;
	o.nkeys = 2;
	o.sym = size > 0 && (data[0] & 1) ? sym16 : sym32;
	o.allow_rsa1_5 = true;
	o.max_len = 64 * 1024;
	core_errbuf_clear(&eb);
	if (crypto_jwe_decrypt(data, size, &o, &pt, &hdr, &eb) == CORE_OK) {
		if (pt == NULL || hdr == NULL)
			abort();
	} else if (pt != NULL || core_errbuf_msg(&eb)[0] == '\0') {
		/* Every failure must leave no output and say why. */
		abort();
	}
#ifdef PROPELLER_UNIT_TEST
	{
		struct secret *pt2 = NULL;
		json_t *hdr2 = NULL;
		struct core_errbuf eb2;
		enum core_err err2;

		core_errbuf_clear(&eb2);
		err2 = jwe_decrypt(data, size, &o, false, &pt2, &hdr2, &eb2);
		if ((err2 == CORE_OK) != (pt != NULL) ||
		    strcmp(core_errbuf_msg(&eb), core_errbuf_msg(&eb2)) != 0)
			abort();
		if (pt != NULL && (pt->len != pt2->len ||
		    memcmp(pt->ptr, pt2->ptr, pt->len) != 0 ||
		    !json_equal(hdr, hdr2)))
			abort();
		secret_free(pt2);
		json_decref(hdr2);
	}
#endif
	secret_free(pt);
	json_decref(hdr);
	return 0;
}
