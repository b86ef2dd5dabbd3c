package io.buildgateway.signing;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * An ECDSA P-256 key that signs with SHA-256 (the algorithm of cosign's and Sigstore's key pairs, so what the gateway
 * signs verifies with their tools as well as with {@code openssl dgst -sha256 -verify}). Signatures are ASN.1 DER.
 * The key id is the hex SHA-256 of the public key's DER (SubjectPublicKeyInfo).
 */
public final class GatewayKey {

    public static final String ALGORITHM = "SHA256withECDSA";
    private static final String CURVE = "secp256r1";

    private final PrivateKey privateKey;
    private final PublicKey publicKey;
    private final Provider provider;

    private GatewayKey(PrivateKey privateKey, PublicKey publicKey, Provider provider) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        this.provider = provider;
    }

    /** A new random key (tests, and the first start of a single-VM gateway). */
    public static GatewayKey generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec(CURVE));
            KeyPair pair = g.generateKeyPair();
            return new GatewayKey(pair.getPrivate(), pair.getPublic(), null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this Java has no EC P-256 key generator", e);
        }
    }

    /**
     * A key from its PEM text: PKCS#8 ({@code PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}), on the P-256 curve.
     *
     * @throws IllegalArgumentException naming what is wrong with the text (never echoing it)
     */
    public static GatewayKey fromPem(String pem) {
        try (Reader r = new StringReader(pem); PEMParser parser = new PEMParser(r)) {
            Object o = parser.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            PrivateKey key;
            if (o instanceof PEMKeyPair pair) {
                key = converter.getKeyPair(pair).getPrivate();
            } else if (o instanceof PrivateKeyInfo info) {
                key = converter.getPrivateKey(info);
            } else {
                throw new IllegalArgumentException("the signing key file holds no unencrypted private key (expected"
                        + " PEM 'PRIVATE KEY' or 'EC PRIVATE KEY')");
            }
            if (!(key instanceof ECPrivateKey ec) || !isP256(ec)) {
                throw new IllegalArgumentException("the signing key must be an ECDSA key on the P-256 curve");
            }
            return new GatewayKey(key, derivePublic(ec), null);
        } catch (IOException e) {
            throw new IllegalArgumentException("the signing key file is not valid PEM", e);
        }
    }

    /** A key on a PKCS#11 token; signing happens on the token, the private key never enters this process. */
    public static GatewayKey fromToken(Provider provider, PrivateKey onToken, PublicKey publicKey) {
        return new GatewayKey(onToken, publicKey, provider);
    }

    public byte[] sign(byte[] data) {
        try {
            Signature s = provider == null ? Signature.getInstance(ALGORITHM)
                    : Signature.getInstance(ALGORITHM, provider);
            s.initSign(privateKey);
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing failed: " + e.getMessage(), e);
        }
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    /** The public key as PEM ({@code PUBLIC KEY}, SubjectPublicKeyInfo): what operators verify with. */
    public String publicKeyPem() {
        return pem("PUBLIC KEY", publicKey.getEncoded());
    }

    public String keyId() {
        return keyId(publicKey);
    }

    /** This key's private half as PKCS#8 PEM, for writing a generated key to its file. Not for token keys. */
    String privateKeyPem() {
        if (provider != null) {
            throw new IllegalStateException("a token key cannot be exported");
        }
        return pem("PRIVATE KEY", privateKey.getEncoded());
    }

    public static String keyId(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(data);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // a malformed signature is one that does not verify
        }
    }

    /** Reads a {@code PUBLIC KEY} PEM (as served by the gateway and written next to its key file). */
    public static PublicKey publicKeyFromPem(String pem) {
        String b64 = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a PEM EC public key", e);
        }
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static boolean isP256(ECPrivateKey key) {
        ECNamedCurveParameterSpec p256 = ECNamedCurveTable.getParameterSpec(CURVE);
        return key.getParams().getOrder().equals(p256.getN())
                && key.getParams().getCurve().getField().getFieldSize() == 256;
    }

    /** Q = d·G on P-256: a PKCS#8 file need not carry the public point. */
    private static PublicKey derivePublic(ECPrivateKey key) {
        ECNamedCurveParameterSpec p256 = ECNamedCurveTable.getParameterSpec(CURVE);
        var q = p256.getG().multiply(key.getS()).normalize();
        ECPoint w = new ECPoint(new BigInteger(1, q.getAffineXCoord().getEncoded()),
                new BigInteger(1, q.getAffineYCoord().getEncoded()));
        try {
            return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, key.getParams()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
